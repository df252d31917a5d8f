// In the hearing room: muting oneself keeps one's words out of the captions; a network cut of
// 10 s heals by itself as the same participant; a second tab with the same link takes over as
// the same participant and the first says so; leaving and rejoining; the room on a phone.
import type { Page } from "@playwright/test";
import { Presence, Role } from "../src/gen/court/v1/common_pb";
import { PeerState } from "../src/gen/court/v1/media_pb";
import { test, expect, expectAccessible, microphone, screenshot } from "./harness";
import { captionsBy, invite, openScene, passPreflight, wholeWer } from "./room-helpers";

const WITNESS = "I saw the ship leave the harbor at dawn before the storm.";
const COUNSEL = "The defendant signed the contract on the first of March.";

/** The participant id the room shows as "you". */
const myId = (page: Page) => page.locator("#roster li", { hasText: "(you)" }).getAttribute("data-participant");

test("a participant who mutes themselves is in no caption while another is captioned; unmuted, they are", async ({ server, people, scratch }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Witness Sun");
  const c = await invite(server, clerk, hearing.id, "Counsel Qin", Role.COUNSEL);
  const witness = await people("witness", { microphone: microphone(scratch, "witness", WITNESS) });
  const counsel = await people("counsel", { microphone: microphone(scratch, "counsel", COUNSEL) });
  for (const [p, inv] of [[witness, w], [counsel, c]] as const) {
    await p.page.goto(inv.link);
    await passPreflight(p.page);
    await expect(p.page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
    await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: inv.participant.id });
    await expect(p.page.locator("#mute-btn")).toBeVisible({ timeout: 30_000 });
  }

  // Counsel mutes themselves before anything is on the record.
  await counsel.page.locator("#mute-btn").click();
  await expect(counsel.page.locator("#mute-btn")).toHaveAttribute("aria-pressed", "true");
  await expect(counsel.page.locator("#mute-btn")).toHaveText("Unmute my microphone");
  await expect(counsel.page.locator("#mute-note")).toHaveText("Your microphone is muted.");
  expect((await clerk.hearings.getHearing({ hearingId: hearing.id })).participants.find((p) => p.id === c.participant.id)?.muted).toBe(true);
  await expect(witness.page.locator(`#roster li[data-participant="${c.participant.id}"]`)).toContainText("Muted");

  await judge.hearings.goOnRecord({ hearingId: hearing.id });
  // The witness is captioned, twice in full; counsel, talking all along, in no caption.
  await expect
    .poll(async () => (await captionsBy(witness.page, "Witness Sun (Witness)")).filter((l) => wholeWer(WITNESS, l) <= 3 / 12).length, {
      timeout: 120_000,
      intervals: [1000],
    })
    .toBeGreaterThanOrEqual(2);
  expect(await captionsBy(witness.page, "Counsel Qin (Counsel)")).toEqual([]);
  expect(await captionsBy(counsel.page, "Counsel Qin (Counsel)")).toEqual([]);

  // Unmuted, counsel's words are captioned.
  await counsel.page.locator("#mute-btn").click();
  await expect(counsel.page.locator("#mute-btn")).toHaveAttribute("aria-pressed", "false");
  await expect
    .poll(async () => (await captionsBy(witness.page, "Counsel Qin (Counsel)")).some((l) => wholeWer(COUNSEL, l) <= 3 / 12), {
      timeout: 120_000,
      intervals: [1000],
    })
    .toBe(true);

  // The court mutes counsel: the page says so, and counsel's microphone is off here too.
  await judge.hearings.muteParticipant({ hearingId: hearing.id, participantId: c.participant.id, muted: true });
  await expect(counsel.page.locator("#mute-note")).toHaveText("The court has muted your microphone.");
  expect(await counsel.page.locator("#self-view").evaluate((v) => ((v as HTMLVideoElement).srcObject as MediaStream).getAudioTracks()[0].enabled)).toBe(false);
});

test("the witness's network is cut for 10 s and the page reconnects by itself as the same participant", async ({ server, people, scratch }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Witness Sun");
  const witness = await people("witness", { microphone: microphone(scratch, "witness", WITNESS) });
  const page = witness.page;
  // What the browser's own peer connections go through, to tell what the cut did to WebRTC.
  await page.addInitScript(() => {
    const log: string[] = ((window as unknown as { pcLog: string[] }).pcLog = []);
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        const n = log.filter((l) => l.endsWith(" new")).length;
        log.push(`pc${n} new`);
        this.addEventListener("connectionstatechange", () => log.push(`pc${n} ${this.connectionState}`));
      }
    } as typeof RTCPeerConnection;
  });
  await page.goto(w.link);
  await passPreflight(page);
  await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: w.participant.id });
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect.poll(() => myId(page), { timeout: 30_000 }).toBe(w.participant.id);

  await witness.context.setOffline(true);
  // The page notices (the browser reports the network gone) and says so.
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "reconnecting", { timeout: 30_000 });
  await expect(page.locator("#media-state")).toHaveText("Connection lost. Reconnecting…");
  await page.waitForTimeout(10_000);
  await witness.context.setOffline(false);

  // Back by itself: media connected again, the same participant, still admitted on the server.
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect(page.locator("#media-state")).toHaveText("Connected");
  expect(await myId(page)).toBe(w.participant.id);
  const after = await clerk.hearings.getHearing({ hearingId: hearing.id });
  const suns = after.participants.filter((p) => p.displayName === "Witness Sun");
  expect(suns.map((p) => [p.id, p.presence])).toEqual([[w.participant.id, Presence.ADMITTED]]);
  const pcLog = await page.evaluate(() => (window as unknown as { pcLog: string[] }).pcLog);
  console.log(`peer connections during the cut: ${pcLog.join(", ")}`);
  // A new connection was made after the cut (the old one was replaced by a new offer).
  expect(pcLog.filter((l) => l.endsWith(" connected")).length).toBeGreaterThanOrEqual(2);
  // The server's side of it: the witness's peer connection is connected again.
  await expect
    .poll(async () => (await clerk.media.getConnections({ hearingId: hearing.id })).connections.find((c) => c.participantId === w.participant.id)?.state, {
      timeout: 30_000,
    })
    .toBe(PeerState.CONNECTED);
});

test("a reload and a second tab with the same link rejoin as the same participant; the first says it was replaced and can take over", async ({ server, people, scratch }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Witness Sun");
  const witness = await people("witness", { microphone: microphone(scratch, "witness", WITNESS) });
  const first = witness.page;
  await first.goto(w.link);
  await passPreflight(first);
  await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: w.participant.id });
  await expect(first.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });

  // A reload is the same participant, straight back in the room.
  await first.reload();
  await passPreflight(first);
  await expect(first.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect.poll(() => myId(first), { timeout: 30_000 }).toBe(w.participant.id);

  const second = await witness.context.newPage();
  await second.goto(w.link);
  await passPreflight(second);
  // Admitted already: straight into the room, as the same participant.
  await expect(second.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect.poll(() => myId(second), { timeout: 30_000 }).toBe(w.participant.id);
  await expect(first.locator("#media-state")).toHaveAttribute("data-state", "replaced", { timeout: 30_000 });
  await expect(first.getByRole("alert")).toContainText("This hearing is open in another tab or device");
  await expectAccessible(first, "replaced");
  const h = await clerk.hearings.getHearing({ hearingId: hearing.id });
  expect(h.participants.filter((p) => p.displayName === "Witness Sun").map((p) => [p.id, p.presence])).toEqual([[w.participant.id, Presence.ADMITTED]]);

  // "Use this tab here": the first tab takes over, the second says so; neither takes turns.
  await first.locator("#take-over").click();
  await expect(first.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect(second.locator("#media-state")).toHaveAttribute("data-state", "replaced", { timeout: 30_000 });
  await expect(first.locator("#media-state")).toHaveAttribute("data-state", "connected");
});

test("the room on a phone, in both languages: no sideways scrolling, accessible; leaving and rejoining", async ({ server, people, scratch }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Witness Sun");
  const witness = await people("witness", { phone: true, microphone: microphone(scratch, "witness") });
  const page = witness.page;
  await page.goto(w.link.replace("lang=en", "lang=zh"));
  await expect(page.getByRole("heading", { level: 1 })).toContainText("检查摄像头和麦克风");
  await expect(page.locator("#join-btn")).toBeEnabled({ timeout: 60_000 });
  await expectAccessible(page, "pre-flight (zh)");
  await passPreflight(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("请稍候：法庭将准许您进入");
  await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: w.participant.id });
  await expect(page.locator("#mute-btn")).toHaveText("关闭我的麦克风", { timeout: 30_000 });
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  expect(await noSideways()).toBe(true);
  await expectAccessible(page, "room (zh, phone)");
  await screenshot(page, "room-phone-zh");

  // The language switch redraws the room without leaving it.
  await page.locator("#lang-switch").click();
  await expect(page.locator("#mute-btn")).toHaveText("Mute my microphone");
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected");
  expect(await noSideways()).toBe(true);
  await expectAccessible(page, "room (en, phone)");

  // Leaving: the server is told; a page to rejoin from.
  await page.locator("#leave-btn").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You have left the hearing");
  const left = await clerk.hearings.getHearing({ hearingId: hearing.id });
  expect(left.participants.find((p) => p.id === w.participant.id)?.presence).toBe(Presence.LEFT);
  await expectAccessible(page, "left (en)");
  await page.locator("#lang-switch").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("您已离开庭审");
  await expectAccessible(page, "left (zh)");
  await page.locator("#rejoin-btn").click();
  await passPreflight(page);
  await expect.poll(async () => (await clerk.hearings.getHearing({ hearingId: hearing.id })).participants.find((p) => p.id === w.participant.id)?.presence, {
    timeout: 30_000,
  }).not.toBe(Presence.LEFT);
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
});

test("a participant the court removes is told so, in words", async ({ server, people }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Witness Sun");
  const witness = await people("witness");
  const page = witness.page;
  await page.goto(w.link);
  await passPreflight(page);
  await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: w.participant.id });
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await judge.hearings.removeParticipant({ hearingId: hearing.id, participantId: w.participant.id, reason: "disruptive" });
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("You are no longer in this hearing", { timeout: 30_000 });
  await expect(page.getByRole("alert")).toContainText("removed");
  await expectAccessible(page, "removed");
});

test("someone who chose audio only turns the camera on in the room, and off again", async ({ server, people }) => {
  const { clerk, judge, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Party Wu", Role.PARTY);
  const person = await people("party");
  const page = person.page;
  await page.goto(w.link);
  await expect(page.locator("#join-btn")).toBeEnabled({ timeout: 60_000 });
  await expect(page.locator("#preview")).toBeVisible();
  await page.getByLabel("Camera", { exact: true }).selectOption({ label: "No camera (audio only)" });
  await expect(page.locator("#audio-only-note")).toContainText("microphone only");
  await expect(page.locator("#preview")).toBeHidden();
  await passPreflight(page);
  await judge.hearings.admitParticipant({ hearingId: hearing.id, participantId: w.participant.id });
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expect(page.locator("#self-view")).toBeHidden();
  const videoTracks = () => page.locator("#self-view").evaluate((v) => ((v as HTMLVideoElement).srcObject as MediaStream).getVideoTracks().filter((t) => t.enabled).length);
  expect(await videoTracks()).toBe(0);

  await page.locator("#camera-btn", { hasText: "Turn camera on" }).click();
  await expect(page.locator("#self-view")).toBeVisible();
  await expect(page.locator("#camera-btn")).toHaveText("Turn camera off");
  expect(await videoTracks()).toBe(1);
  // A new offer with the camera in it: connected again.
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await page.locator("#camera-btn").click();
  await expect(page.locator("#camera-btn")).toHaveText("Turn camera on");
  expect(await videoTracks()).toBe(0);
});
