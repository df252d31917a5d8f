// The court's desk (#/court/ID) and its panel: the presiding judge opens the waiting room,
// admits, goes on and off the record and reads it in the timeline; locks the room (a new arrival
// is refused) and messages the waiting room (a waiting participant receives it); a clerk sees no
// judge-only control; a bot's connection shows with numbers, and when the bot is killed the
// stalled-media banner appears. Participants come in through the API or `opencourt bot`.
import type { Page } from "@playwright/test";
import { Code, ConnectError } from "@connectrpc/connect";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { HearingState, Role, type HearingEvent } from "../src/gen/court/v1/common_pb";
import { BIN, STAFF, clients, expect, scene, expectAccessible, screenshot, test, type Clients, type Person, type Server, type StaffName } from "./harness";

/** Signs `who` in on the start screen and opens the court's desk for `hearingId`. */
async function openDesk(page: Page, server: Server, who: StaffName, hearingId: string, lang: "en" | "zh" = "en"): Promise<void> {
  await page.goto(`${server.url}/?lang=${lang}`);
  await page.locator("#login-form input[name=username]").fill(who);
  await page.locator("#login-form input[name=password]").fill(STAFF[who][0]);
  await page.locator("#login-form button[type=submit]").click();
  await expect(page).toHaveURL(/#\/docket$/);
  // A change of the #fragment only: the sign-in (kept for the tab) stays.
  await page.evaluate((id) => (location.hash = `/court/${id}`), hearingId);
  await expect(page.locator("#court-panel")).toBeVisible();
}

/** Someone the clerk invites, who redeems the invitation: their own API client. */
async function invitee(server: Server, clerk: Clients, hearingId: string, displayName: string, role: Role) {
  const inv = await clerk.hearings.inviteParticipant({ hearingId, displayName, role });
  const redeemed = await clients(server.url).auth.redeemInvite({ code: inv.code });
  return { id: inv.participant!.id, api: clients(server.url, redeemed.token) };
}

const state = (page: Page) => page.locator("#court-state .tag").first();
const timeline = (page: Page) => page.locator("#court-timeline");

test("the judge opens the waiting room, admits, goes on and off the record, and reads it in the timeline", async ({ server, people }) => {
  const { clerk, hearing } = await scene(server);
  const judge = await people("judge");
  const page = judge.page;
  await openDesk(page, server, "judge", hearing.id);
  await expect(page.getByRole("heading", { level: 1 })).toContainText(hearing.title);
  await expect(state(page)).toHaveText("Scheduled");
  const witness = await invitee(server, clerk, hearing.id, "Ann Witness", Role.WITNESS);

  await page.getByRole("button", { name: "Open the waiting room" }).click();
  await expect(state(page)).toHaveText("Waiting room open");
  await witness.api.hearings.joinHearing({ hearingId: hearing.id });
  const waiting = page.locator("#court-waiting-list");
  await expect(waiting.locator("[data-participant]")).toContainText("Ann Witness");
  await expect(page.locator("#court-waiting-h")).toHaveText("Waiting to be admitted (1)");
  await expectAccessible(page, "court desk, someone waiting");
  await screenshot(page, "court-desk-waiting");

  await page.getByRole("button", { name: "Admit Ann Witness" }).click();
  await expect(page.locator(`#court-roster [data-participant="${witness.id}"]`)).toContainText("In the hearing");
  await expect(waiting).toContainText("Nobody is waiting.");

  // Mute and unmute; stand down (the reason is optional) back to the waiting room; admit again.
  const row = page.locator(`[data-participant="${witness.id}"]`);
  await page.getByRole("button", { name: "Mute Ann Witness" }).click();
  await expect(row.locator(".roster-status")).toContainText("Muted");
  await page.getByRole("button", { name: "Unmute Ann Witness" }).click();
  await expect(row.locator(".roster-status")).not.toContainText("Muted");
  await page.getByRole("button", { name: "Stand down… Ann Witness" }).click();
  await page.getByLabel("Why they stand down (optional)").fill("evidence given");
  await page.getByRole("button", { name: "Stand down", exact: true }).click();
  await expect(waiting.locator(`[data-participant="${witness.id}"]`)).toContainText("Waiting");
  await page.getByRole("button", { name: "Admit Ann Witness" }).click();
  await expect(page.locator(`#court-roster [data-participant="${witness.id}"]`)).toContainText("In the hearing");

  await page.getByRole("button", { name: "Go on the record" }).click();
  await expect(state(page)).toHaveText("On the record");
  await page.getByRole("button", { name: "Go off the record…" }).click();
  // A reason is required: the error is on the field, and nothing changes.
  await page.getByRole("button", { name: "Go off the record", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Enter a reason" })).toBeVisible();
  await expect(page.getByLabel("Why the hearing goes off the record")).toHaveAttribute("aria-invalid", "true");
  await expect(state(page)).toHaveText("On the record");
  await page.getByLabel("Why the hearing goes off the record").fill("a short recess");
  await page.getByRole("button", { name: "Go off the record", exact: true }).click();
  await expect(state(page)).toHaveText("Off the record");
  expect((await clerk.hearings.getHearing({ hearingId: hearing.id })).state).toBe(HearingState.OFF_RECORD);

  const log = timeline(page);
  for (const line of [
    "Waiting room opened",
    "Ann Witness arrived in the waiting room",
    "Ann Witness was admitted",
    "Ann Witness was muted",
    "Ann Witness was unmuted",
    "Ann Witness was stood down: evidence given",
    "Went on the record",
    "Went off the record: a short recess",
  ]) {
    await expect(log).toContainText(line);
  }
  // Newest first, each with the hearing clock and who did it.
  await expect(log.locator("li").first()).toContainText("Judge Wang — Went off the record: a short recess");
  await expect(log.locator("li").first().locator("time")).toHaveText(/^\d\d:\d\d:\d\d$/);
  await expectAccessible(page, "court desk, timeline");
  // A phone-sized screen: nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(timeline(page)).toContainText("暂停记录：a short recess");
  await expect(timeline(page)).toContainText("Ann Witness 已获准入庭");
  await expect(state(page)).toHaveText("休庭（不记录）");
  await expectAccessible(page, "court desk (zh)");
});

/** Everything the hearing's log sends `api` (as that caller may read it), collected as it comes. */
function watch(api: Clients, hearingId: string) {
  const seen: HearingEvent[] = [];
  const abort = new AbortController();
  const done = (async () => {
    try {
      for await (const ev of api.hearings.watchHearing({ hearingId, afterSeq: 0n }, { signal: abort.signal })) seen.push(ev);
    } catch {
      // ended by stop()
    }
  })();
  return { seen, stop: async () => { abort.abort(); await done; } };
}

/** The refusal `call` ends in (fails the test when it succeeds). */
async function refused(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("the call succeeded; a refusal was expected");
}

test("the judge locks the room against a new arrival, unlocks it, and messages the waiting room", async ({ server, people }) => {
  const { clerk, judge: judgeApi, hearing } = await scene(server);
  await judgeApi.hearings.openHearing({ hearingId: hearing.id });
  const early = await invitee(server, clerk, hearing.id, "Early Party", Role.PARTY);
  await early.api.hearings.joinHearing({ hearingId: hearing.id });
  const heard = watch(early.api, hearing.id);
  const late = await invitee(server, clerk, hearing.id, "Late Counsel", Role.COUNSEL);

  const judge = await people("judge");
  const page = judge.page;
  await openDesk(page, server, "judge", hearing.id);
  await page.getByRole("button", { name: "Lock the room" }).click();
  await expect(page.locator("#court-state")).toContainText("Room locked");
  const err = await refused(late.api.hearings.joinHearing({ hearingId: hearing.id }));
  expect(err.code).toBe(Code.FailedPrecondition);
  await expect(timeline(page)).toContainText("Room locked");

  await page.getByRole("button", { name: "Unlock the room" }).click();
  await expect(page.locator("#court-state")).not.toContainText("Room locked");
  await late.api.hearings.joinHearing({ hearingId: hearing.id });
  await expect(page.locator("#court-waiting-list")).toContainText("Late Counsel");
  await expect(timeline(page)).toContainText("Room unlocked");

  // The message: empty and too long are refused on the field; then it reaches the waiting room.
  const message = page.getByLabel("Message to the waiting room");
  const send = page.getByRole("button", { name: "Send to the waiting room" });
  await send.click();
  await expect(page.getByRole("alert").filter({ hasText: "Enter a message" })).toBeVisible();
  await expect(message).toHaveAttribute("aria-invalid", "true");
  await message.fill("x".repeat(501));
  await send.click();
  await expect(page.getByRole("alert").filter({ hasText: "500 characters or fewer (it has 501)" })).toBeVisible();
  await message.fill("We start at 10:15.");
  await send.click();
  await expect(page.getByRole("status").filter({ hasText: "Message sent to the waiting room." })).toBeVisible();
  await expect(message).not.toHaveAttribute("aria-invalid", "true");
  await expect(timeline(page)).toContainText("Message to the waiting room: “We start at 10:15.”");
  await expect
    .poll(() => heard.seen.flatMap((ev) => (ev.payload.case === "waitingRoomMessage" ? [ev.payload.value.text] : [])), { timeout: 30_000 })
    .toEqual(["We start at 10:15."]);
  await heard.stop();
  await expectAccessible(page, "court desk after a message");
});

test("a clerk on the desk sees no judge-only control but admits, locks, messages and removes; the judge sees them", async ({ server, people }) => {
  const { clerk: clerkApi, judge: judgeApi, hearing } = await scene(server);
  await judgeApi.hearings.openHearing({ hearingId: hearing.id });
  await judgeApi.hearings.goOnRecord({ hearingId: hearing.id });
  const witness = await invitee(server, clerkApi, hearing.id, "Wu Witness", Role.WITNESS);
  await witness.api.hearings.joinHearing({ hearingId: hearing.id });

  const clerk = await people("clerk");
  await openDesk(clerk.page, server, "clerk", hearing.id);
  const judge = await people("judge");
  await openDesk(judge.page, server, "judge", hearing.id);

  for (const page of [clerk.page, judge.page]) {
    await expect(page.getByRole("button", { name: "Admit Wu Witness" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Lock the room" })).toBeVisible();
    await expect(page.getByLabel("Message to the waiting room")).toBeVisible();
  }
  await expect(judge.page.getByRole("button", { name: "Go off the record…" })).toBeVisible();
  await expect(judge.page.getByRole("button", { name: "Adjourn…" })).toBeVisible();
  const c = clerk.page;
  await expect(c.getByRole("button", { name: /record/ })).toHaveCount(0);
  await expect(c.getByRole("button", { name: /Adjourn/ })).toHaveCount(0);
  await expectAccessible(c, "court desk, clerk");

  // The clerk runs the admin: admits, then removes with a reason after a confirmation step.
  await c.getByRole("button", { name: "Admit Wu Witness" }).click();
  await expect(c.locator(`[data-participant="${witness.id}"]`)).toContainText("In the hearing");
  await c.getByRole("button", { name: "Remove… Wu Witness" }).click();
  await expect(c.getByText("Removal is final")).toBeVisible();
  await c.getByRole("button", { name: "Remove from the hearing" }).click();
  await expect(c.getByLabel("Why they are removed")).toHaveAttribute("aria-invalid", "true");
  await c.getByLabel("Why they are removed").fill("disrupted the hearing");
  await c.getByRole("button", { name: "Remove from the hearing" }).click();
  await expect(c.locator(`[data-participant="${witness.id}"]`)).toContainText("Removed");
  await expect(judge.page.locator("#court-timeline")).toContainText("Wu Witness was removed: disrupted the hearing");

  // The judge adjourns, after a confirmation step; the controls go.
  await judge.page.getByRole("button", { name: "Adjourn…" }).click();
  await expect(judge.page.getByText("It cannot be undone.")).toBeVisible();
  await judge.page.getByLabel("Why the hearing is adjourned").fill("evidence concluded");
  await judge.page.getByRole("button", { name: "Adjourn the hearing" }).click();
  await expect(state(judge.page)).toHaveText("Adjourned");
  await expect(judge.page.getByRole("button", { name: "Go on the record" })).toHaveCount(0);
  await expect(c.locator("#court-timeline")).toContainText("Hearing adjourned: evidence concluded");
});

/** An `opencourt bot` process: its output lines, and a wait for one that contains `text`. */
class Bot {
  readonly lines: string[] = [];
  private waiters: { text: string; resolve: () => void }[] = [];
  constructor(readonly child: ChildProcess) {
    for (const out of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: out }).on("line", (line) => {
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (line.includes(w.text) ? (w.resolve(), false) : true));
      });
    }
  }

  static start(server: Server, hearingId: string, code: string, audio: string, extra: string[] = []): Bot {
    const child = spawn(BIN, ["bot", "--server", server.url, "--invite-env", "OC_TEST_INVITE", "--hearing", hearingId, "--audio", audio, ...extra], {
      env: { ...process.env, OC_TEST_INVITE: code, OPENCOURT_ICE_LOCAL_ADDRESS: "127.0.0.1", RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new Bot(child);
  }

  /** Waits for a line with `text` (at most `patience` ms: a hang becomes a failure that shows
   *  what the bot said). */
  until(text: string, patience = 90_000): Promise<void> {
    if (this.lines.some((l) => l.includes(text))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const fail = (why: string) => reject(new Error(`the bot ${why} before "${text}":\n${this.lines.join("\n")}`));
      const timer = setTimeout(() => fail("said nothing more"), patience);
      this.waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      this.child.once("exit", (code) => (clearTimeout(timer), fail(`exited (${code})`)));
    });
  }
}

/** A hearing on the record with a bot party `name` (extra `opencourt bot` options), admitted by
 *  the judge on the court's desk; the bot is killed when `body` ends. */
async function withBot(
  { server, people, scratch }: { server: Server; people: (name: string) => Promise<Person>; scratch: string },
  name: string,
  extra: string[],
  body: (page: Page, bot: Bot, participantId: string) => Promise<void>,
): Promise<void> {
  const { clerk, judge: judgeApi, hearing } = await scene(server);
  await judgeApi.hearings.openHearing({ hearingId: hearing.id });
  await judgeApi.hearings.goOnRecord({ hearingId: hearing.id });
  const inv = await clerk.hearings.inviteParticipant({ hearingId: hearing.id, displayName: name, role: Role.PARTY });
  // Five minutes of quiet sound: a bot sends its file once, so its media cannot end in a test.
  const audio = path.join(scratch, "quiet.wav");
  execFileSync("sox", ["-n", "-r", "16000", "-c", "1", "-b", "16", audio, "synth", "300", "whitenoise", "vol", "0.001"]);
  const bot = Bot.start(server, hearing.id, inv.code, audio, extra);
  try {
    await bot.until("joined as ");
    const judge = await people("judge");
    await openDesk(judge.page, server, "judge", hearing.id);
    await judge.page.getByRole("button", { name: `Admit ${name}` }).click();
    await body(judge.page, bot, inv.participant!.id);
  } finally {
    bot.child.kill("SIGKILL");
  }
}

test("a stall is a banner only while it lasts: the bot's dropped connection comes back and the banner goes", async ({ server, people, scratch }) => {
  // Its media vanishes 5 s after connecting (no goodbye) and comes back 7 s later.
  await withBot({ server, people, scratch }, "Flaky Party", ["--drop-after", "5", "--drop-for", "7"], async (page, bot) => {
    const banner = page.locator('[data-problem="stall"]');
    await expect(banner).toContainText("No media from Flaky Party", { timeout: 60_000 });
    await expect(banner).toHaveAttribute("role", "alert");
    await bot.until("reconnected");
    await expect(timeline(page)).toContainText("Media from Flaky Party again from", { timeout: 60_000 });
    await expect(banner).toHaveCount(0);
    // The past stall stays in the timeline.
    await expect(timeline(page)).toContainText("No media from Flaky Party since");
  });
});

test("a bot's connection shows with numbers; when the bot is killed the stalled-media banner appears", async ({ server, people, scratch }) => {
  await withBot({ server, people, scratch }, "Bot Party", [], async (page, bot, participantId) => {
    await bot.until("connected at");
    const conn = page.locator(`#court-roster [data-participant="${participantId}"] .roster-conn`);
    // The server's view of the bot's peer (GetConnections): connected, with measured numbers.
    // Media must be arriving before the kill (only media that started can stall): a bitrate
    // above zero says it is.
    await expect(conn).toContainText("Connected", { timeout: 60_000 });
    await expect(conn).toContainText(/round trip \d+ ms, [\d.]+% lost, [1-9]\d* kbit\/s/, { timeout: 60_000 });

    bot.child.kill("SIGKILL");
    // The room reports an input silent for 2 s as stalled (recorder's stall_after); the banner
    // follows the MediaStalled event on the log.
    const banner = page.locator('[data-problem="stall"]');
    await expect(banner).toHaveAttribute("role", "alert", { timeout: 60_000 });
    await expect(banner).toContainText("No media from Bot Party");
    await expect(timeline(page)).toContainText("No media from Bot Party since");
    await expectAccessible(page, "court desk with a banner");
    await screenshot(page, "court-desk-banner");
    await page.getByRole("button", { name: "中文" }).click();
    await expect(page.locator('[data-problem="stall"]')).toContainText("未收到 Bot Party 的音视频");
    await expectAccessible(page, "court desk with a banner (zh)");
  });
});

test("a recording file that fails is a banner at once; the recording lost is one after, until the court dismisses it", async ({ server, people }) => {
  const { judge: judgeApi, hearing } = await scene(server);
  const opened = await judgeApi.hearings.openHearing({ hearingId: hearing.id });
  const judge = await people("judge");
  const page = judge.page;
  await openDesk(page, server, "judge", hearing.id);

  // The full disk: the first mixed recording file is named after the hearing clock when the
  // record opens (mix-<ms>.mkv in the hearing's media directory), so every name the next
  // seconds can take is made a link to /dev/full before going on the record.
  const dir = path.join(server.dir, "data", "media", hearing.id);
  const now = Date.now() - Number(opened.openedAt!.seconds) * 1000 - Math.floor(opened.openedAt!.nanos / 1e6);
  const full: string[] = [];
  for (let ms = Math.max(0, now - 1000); ms < now + 15_000; ms++) {
    const file = path.join(dir, `mix-${String(ms).padStart(10, "0")}.mkv`);
    fs.symlinkSync("/dev/full", file);
    full.push(file);
  }
  await page.getByRole("button", { name: "Go on the record" }).click();
  const fault = page.locator('[data-problem="fault"]');
  await expect(fault).toContainText("A recording file failed", { timeout: 60_000 });
  await expect(fault).toHaveAttribute("role", "alert");
  await expect(timeline(page)).toContainText(/Recording file mix-\d+\.mkv failed/);
  await screenshot(page, "court-desk-recording-fault");

  // The disk has room again: a new file takes over, and what was lost is said.
  for (const file of full) fs.rmSync(file, { force: true });
  const lost = page.locator('[data-problem="lost"]');
  await expect(lost).toContainText("Nothing was recorded from", { timeout: 60_000 });
  await expect(fault).toHaveCount(0);
  await expectAccessible(page, "court desk, recording lost");
  await expect(timeline(page)).toContainText("Nothing recorded from");
  // In Chinese too (banners and timeline present), and the court dismisses the banner.
  await page.getByRole("button", { name: "中文" }).click();
  await expect(lost).toContainText("录制内容缺失");
  await expect(timeline(page)).toContainText("未录制");
  await expectAccessible(page, "court desk, recording lost (zh)");
  await lost.getByRole("button", { name: "关闭提示" }).click();
  await expect(lost).toHaveCount(0);
  // Dismissed stays dismissed when the desk is drawn again.
  await page.getByRole("button", { name: "English" }).click();
  await expect(timeline(page)).toContainText("Nothing recorded from");
  await expect(lost).toHaveCount(0);
});
