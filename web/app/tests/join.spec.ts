// Joining: a witness with no camera passes the device check and joins by microphone only, waits
// (seeing who the court is and the court's messages), is admitted and speaks; their words reach
// the stored transcript under their name. The judge is in the room in their own browser. A link
// that no longer works, and a room the court locked, are refused in plain words.
import { Role } from "../src/gen/court/v1/common_pb";
import { test, expect, expectAccessible, microphone, screenshot } from "./harness";
import { adjournForTranscript, bareBrowser, openScene, assertHeard, captionsBy, invite, passPreflight, staffIntoHearing, utterances, wholeWer } from "./room-helpers";

const PHRASE = "I saw the ship leave the harbor at dawn before the storm.";
const SPEAKER = "Witness Sun (Witness)";

test("a witness with no camera joins by microphone, waits, is admitted, and is heard in the transcript", async ({ server, people, scratch }) => {
  const { clerk, judge: judgeApi, hearing } = await openScene(server);
  const { link, participant } = await invite(server, clerk, hearing.id, "Witness Sun");

  const judge = await people("judge");
  await staffIntoHearing(judge.page, server, "judge", hearing.id);
  await passPreflight(judge.page);
  await expect(judge.page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });

  const witness = await people("witness", { noCamera: true, microphone: microphone(scratch, "witness", PHRASE) });
  const page = witness.page;
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Check your camera and microphone");
  // No camera: the page says so and offers to join by microphone only; the microphone is heard.
  await expect(page.locator("#audio-only-note")).toContainText("microphone only", { timeout: 30_000 });
  await expect(page.locator("#preview")).toBeHidden();
  await expect.poll(() => page.locator("#mic-level").evaluate((m) => (m as HTMLMeterElement).value), { timeout: 30_000 }).toBeGreaterThan(0.02);
  await expectAccessible(page, "pre-flight");
  await screenshot(page, "preflight");
  await passPreflight(page);

  // The waiting room: who the court is, the hearing, and the court's messages, newest first.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Please wait: the court will let you in");
  await expect(page.locator("#court-name")).toHaveText("Judge Wang");
  await expect(page.locator("#hearing-title")).toHaveText(hearing.title);
  await expect(page.locator("#media-state")).toHaveAttribute("data-state", "connected", { timeout: 60_000 });
  await expectAccessible(page, "waiting room");
  await screenshot(page, "waiting");

  // Admitted (as the court would, from its panel): the room, audio only.
  await judgeApi.hearings.admitParticipant({ hearingId: hearing.id, participantId: participant.id });
  await expect(page.locator("#courtroom")).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("#camera-btn")).toBeHidden();
  await judgeApi.hearings.goOnRecord({ hearingId: hearing.id });
  await expect(page.locator("#record-state")).toContainText("On the record");
  // The courtroom view arrives although the witness sends no video.
  await expect.poll(() => page.locator("#courtroom").evaluate((v) => (v as HTMLVideoElement).videoWidth), { timeout: 60_000 }).toBeGreaterThan(0);

  // The judge sees the witness's words as live captions; twice, so the record has more than one.
  await expect
    .poll(async () => {
      const lines = await captionsBy(judge.page, SPEAKER);
      return lines.length >= 2 && lines.some((l) => wholeWer(PHRASE, l) <= 3 / 12);
    }, { timeout: 120_000, intervals: [1000] })
    .toBe(true);
  assertHeard("live captions", PHRASE, await captionsBy(judge.page, SPEAKER));
  await expect(page.locator(`#roster li[data-participant="${participant.id}"]`)).toContainText("In the hearing");
  await expectAccessible(page, "room (witness)");
  await screenshot(page, "room-witness-audio-only");
  await screenshot(judge.page, "room");

  // Adjourned: the stored transcript has the witness's words under their name.
  const transcript = await adjournForTranscript(judgeApi, clerk, hearing.id);
  assertHeard("the stored transcript", PHRASE, utterances(transcript, SPEAKER));
  await expect(page.locator("#record-state")).toContainText("Adjourned");
});

test("a link that no longer works is refused in plain words, in both languages", async ({ server, people }) => {
  const { clerk, hearing } = await openScene(server);
  const visitor = await people("visitor");
  const page = visitor.page;
  for (const lang of ["en", "zh"] as const) {
    await page.goto(`${server.url}/?lang=${lang}#/join/not-a-real-code-${lang}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(lang === "en" ? "This invitation link does not work" : "此邀请链接无法使用");
    await expect(page.getByRole("alert")).toContainText(lang === "en" ? "Ask the court for a new link" : "请向法院索取新链接");
    await expectAccessible(page, `bad link (${lang})`);
  }
  await screenshot(page, "bad-link");

  // A code the court re-issued no longer works: the old link says to ask for a new one.
  const reissued = await invite(server, clerk, hearing.id, "Party Zhou", Role.PARTY);
  await clerk.hearings.reissueInvite({ hearingId: hearing.id, participantId: reissued.participant.id });
  await page.goto(reissued.link);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("This invitation link does not work");
});

test("the waiting room shows the court's messages, newest first, in both languages", async ({ server, people }) => {
  const { clerk, judge: judgeApi, hearing } = await openScene(server);
  const w = await invite(server, clerk, hearing.id, "Counsel Qin", Role.COUNSEL);
  const person = await people("counsel");
  const page = person.page;
  await page.goto(w.link);
  await passPreflight(page);
  await expect(page.locator("#court-messages")).toBeAttached();
  await expect(page.locator("#messages-live")).toHaveAttribute("aria-live", "polite");
  await judgeApi.hearings.messageWaitingRoom({ hearingId: hearing.id, text: "We start in five minutes." });
  await judgeApi.hearings.messageWaitingRoom({ hearingId: hearing.id, text: "The judge is coming in now." });
  await expect(page.locator("#court-messages li")).toHaveCount(2);
  await expect(page.locator("#court-messages li").first()).toContainText("The judge is coming in now.");
  await expect(page.locator("#court-messages li").nth(1)).toContainText("We start in five minutes.");
  await expectAccessible(page, "waiting room with messages");
  await screenshot(page, "waiting-messages");
  await page.locator("#lang-switch").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("请稍候：法庭将准许您进入");
  await expect(page.locator("#court-messages li")).toHaveCount(2);
  await expectAccessible(page, "waiting room (zh)");
});

test("after the court locks the room, a new arrival is refused with a clear message", async ({ server, people }) => {
  const { clerk, judge: judgeApi, hearing } = await openScene(server);
  const late = await invite(server, clerk, hearing.id, "Witness Late");
  await judgeApi.hearings.lockHearing({ hearingId: hearing.id, locked: true, reason: "the hearing has begun" });
  const before = (await clerk.hearings.getHearing({ hearingId: hearing.id })).participants.find((p) => p.id === late.participant.id)!;
  const visitor = await people("late");
  const page = visitor.page;
  for (const lang of ["en", "zh"] as const) {
    await page.goto(late.link.replace("lang=en", `lang=${lang}`));
    await passPreflight(page);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(lang === "en" ? "You cannot join the hearing now" : "您现在无法加入庭审");
    await expect(page.getByRole("alert")).toContainText(lang === "en" ? "The court has locked the room" : "法庭已锁定");
    await expectAccessible(page, `locked room (${lang})`);
    if (lang === "en") await screenshot(page, "refused-locked");
    await page.goto("about:blank");
  }
  // Refused at the door: nothing about them changed on the server.
  const after = (await clerk.hearings.getHearing({ hearingId: hearing.id })).participants.find((p) => p.id === late.participant.id)!;
  expect(after.presence).toBe(before.presence);
});

test("the pre-flight says in words why it cannot get media: no microphone, or not allowed", async ({ server }) => {
  const { clerk, hearing } = await openScene(server);
  // This machine has no microphone or camera of its own: without fake devices, none are found.
  const none = await bareBrowser(["--use-fake-ui-for-media-stream"], true);
  try {
    await none.page.goto((await invite(server, clerk, hearing.id, "Party Wu", Role.PARTY)).link);
    await expect(none.page.getByRole("alert")).toContainText("No microphone was found", { timeout: 30_000 });
    await expect(none.page.locator("#join-btn")).toBeDisabled();
    await expectAccessible(none.page, "pre-flight, no microphone");
  } finally {
    await none.browser.close();
  }
  // Fake devices, but no permission for them (and no one to click "Allow").
  const denied = await bareBrowser(["--use-fake-device-for-media-stream"], false);
  try {
    await denied.page.goto((await invite(server, clerk, hearing.id, "Party Zheng", Role.PARTY)).link.replace("lang=en", "lang=zh"));
    await expect(denied.page.getByRole("alert")).toContainText("浏览器未获准使用您的麦克风", { timeout: 30_000 });
    await expect(denied.page.locator("#join-btn")).toBeDisabled();
    await expectAccessible(denied.page, "pre-flight, not allowed (zh)");
  } finally {
    await denied.browser.close();
  }
});
