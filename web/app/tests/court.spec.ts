// The court's desk (#/court/ID) and its panel: the presiding judge opens the waiting room,
// admits, goes on and off the record and reads it in the timeline; locks the room (a new arrival
// is refused) and messages the waiting room (a waiting participant receives it); a clerk sees no
// judge-only control; a bot's connection shows with numbers, and when the bot is killed the
// stalled-media banner appears. Participants come in through the API or `opencourt bot`.
import type { Page } from "@playwright/test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { HearingState, Role, Visibility } from "../src/gen/court/v1/common_pb";
import { STAFF, clients, expect, expectAccessible, screenshot, test, type Clients, type Server, type StaffName } from "./harness";

/** A public case and a hearing on it starting now, presided by Judge Wang, set up by the clerk.
 *  (The harness's `scene` predates the required case visibility.) */
async function scene(server: Server) {
  const clerk = await server.as("clerk");
  const judge = await server.as("judge");
  const judgeUser = (await clients(server.url).auth.login({ username: "judge", password: STAFF.judge[0] })).user!;
  const c = await clerk.cases.createCase({ caseNumber: "(2026)京0105民初12345号", title: "Zhang v. Li", visibility: Visibility.PUBLIC });
  const now = Date.now();
  const hearing = await clerk.hearings.scheduleHearing({
    caseId: c.id,
    title: "Zhang v. Li: first hearing",
    startsAt: timestampFromMs(now),
    endsAt: timestampFromMs(now + 2 * 3600_000),
    judgeId: judgeUser.id,
  });
  return { clerk, judge, case: c, hearing };
}

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
const timeline = (page: Page) => page.locator("#timeline");

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
  const waiting = page.locator("#waiting-list");
  await expect(waiting.locator("[data-participant]")).toContainText("Ann Witness");
  await expect(page.locator("#waiting-h")).toHaveText("Waiting to be admitted (1)");
  await expectAccessible(page, "court desk, someone waiting");
  await screenshot(page, "court-desk-waiting");

  await page.getByRole("button", { name: "Admit Ann Witness" }).click();
  await expect(page.locator(`#roster [data-participant="${witness.id}"]`)).toContainText("In the hearing");
  await expect(waiting).toContainText("Nobody is waiting.");

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
    "Went on the record",
    "Went off the record: a short recess",
  ]) {
    await expect(log).toContainText(line);
  }
  // Newest first, each with the hearing clock and who did it.
  await expect(log.locator("li").first()).toContainText("Judge Wang — Went off the record: a short recess");
  await expect(log.locator("li").first().locator("time")).toHaveText(/^\d\d:\d\d:\d\d$/);
  await expectAccessible(page, "court desk, timeline");

  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
  await expect(timeline(page)).toContainText("暂停记录：a short recess");
  await expect(timeline(page)).toContainText("Ann Witness 已获准入庭");
  await expect(state(page)).toHaveText("休庭（不记录）");
  await expectAccessible(page, "court desk (zh)");
});
