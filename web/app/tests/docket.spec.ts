// The court's docket: a judge creates a case, schedules a hearing (a conflict with the judge's
// other hearing is refused in the form before submitting), invites three people and copies their
// links (each redeems; a re-issued one replaces the old), and cancels another hearing with a
// reason. A clerk sees the docket without the judge's controls, must name a judge, and finds
// today's hearing first among many on other days, a page at a time.
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { HearingState, Visibility } from "../src/gen/court/v1/common_pb";
import { test, expect, expectAccessible, screenshot, clients, STAFF, type Server, type StaffName } from "./harness";
import type { Page } from "@playwright/test";

const HOUR = 3600_000;
const midnight = (days = 0) => {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + days).getTime();
};
const dayValue = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

async function signIn(page: Page, server: Server, who: StaffName): Promise<void> {
  await page.goto(`${server.url}/?lang=en#/`);
  await page.getByLabel("User name").fill(who);
  await page.getByLabel("Password").fill(STAFF[who][0]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/#\/docket$/);
}

async function userId(server: Server, who: StaffName): Promise<string> {
  return (await clients(server.url).auth.login({ username: who, password: STAFF[who][0] })).user!.id;
}

/** The screen as it is works on a phone: nothing wider than 390 px (no sideways scrolling). */
async function fitsPhone(page: Page): Promise<void> {
  const was = page.viewportSize()!;
  await page.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize(was);
}

/** Moves within the page (no reload: a staff sign-in lives in the page). */
async function go(page: Page, path: string): Promise<void> {
  await page.evaluate((p) => (location.hash = p), path);
  await expect(page).toHaveURL(new RegExp(`#${path}$`));
}

async function toZh(page: Page): Promise<void> {
  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "zh-CN");
}
async function toEn(page: Page): Promise<void> {
  await page.getByRole("button", { name: "English" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
}

test("a judge creates a case, schedules around a conflict, invites three, re-issues a link and cancels a hearing", async ({ server, people }) => {
  const clerk = await server.as("clerk");
  const judgeId = await userId(server, "judge");
  // The judge already presides tomorrow 10:00–11:00 (local time) on another case.
  const other = await clerk.cases.createCase({ caseNumber: "(2026)京0105民初00001号", title: "Sun v. Zhou", visibility: Visibility.RESTRICTED });
  const tomorrow = midnight(1);
  const busyHearing = await clerk.hearings.scheduleHearing({
    caseId: other.id,
    title: "Sun v. Zhou: evidence",
    startsAt: timestampFromMs(tomorrow + 10 * HOUR),
    endsAt: timestampFromMs(tomorrow + 11 * HOUR),
    judgeId,
  });

  const judge = await people("judge");
  const page = judge.page;
  await judge.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  await signIn(page, server, "judge");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Docket");
  // The judge's own hearing offers to preside.
  const busyRow = page.locator(`#docket-upcoming tr[data-hearing="${busyHearing.id}"]`);
  await expect(busyRow).toContainText("Sun v. Zhou: evidence");
  await expect(busyRow.getByRole("link", { name: /^Preside/ })).toHaveAttribute("href", `#/hearing/${busyHearing.id}`);

  // A new case; a missing title is refused on its field first.
  await page.getByRole("link", { name: "New case" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("New case");
  await page.getByLabel("Case number").fill("(2026)京0105民初12345号");
  await page.getByRole("button", { name: "Create the case" }).click();
  await expect(page.locator(".error-summary")).toContainText("Enter a title");
  await expect(page.getByLabel("Title")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page, "new case with an error");
  await page.getByLabel("Title").fill("Zhang v. Li");
  await page.getByRole("button", { name: "Create the case" }).click();

  // Scheduling: the case just made is chosen; an overlapping time is refused before submitting.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Schedule a hearing");
  await expect(page.getByRole("status").filter({ hasText: "Case (2026)京0105民初12345号 created" })).toBeVisible();
  await expect(page.getByLabel("Case", { exact: true })).toHaveValue(/.+/);
  await expect(page.locator("#you-preside")).toContainText("Judge Wang");
  await page.getByLabel("Hearing title").fill("First hearing");
  await page.getByLabel("Date").fill(dayValue(tomorrow));
  await page.getByLabel("Start time").fill("10:30");
  await page.getByLabel("End time").fill("11:30");
  await page.getByLabel("End time").blur();
  const summary = page.locator(".error-summary");
  await expect(summary).toContainText("already presides over another hearing");
  await expect(page.getByLabel("Start time")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#judge-day")).toContainText("Sun v. Zhou: evidence");
  // The summary's link takes the keyboard to the field.
  await summary.getByRole("link").click();
  await expect(page.getByLabel("Start time")).toBeFocused();
  // Nothing was stored by the checks.
  const stored = await clerk.hearings.listHearings({ judgeId, pageSize: 100 });
  expect(stored.hearings.map((x) => x.title)).toEqual(["Sun v. Zhou: evidence"]);
  await expectAccessible(page, "schedule with a conflict");
  await screenshot(page, "schedule-conflict");

  // Submitting anyway is refused the same way.
  await page.getByRole("button", { name: "Schedule the hearing" }).click();
  await expect(summary).toContainText("already presides over another hearing");

  // A free time: the check says so, and scheduling goes to the new hearing's page.
  await page.getByLabel("Start time").fill("12:00");
  await page.getByLabel("End time").fill("13:00");
  await page.getByLabel("End time").blur();
  await expect(page.locator("#schedule-check")).toHaveText("The judge is free at that time.");
  await expect(page.locator(".error-summary")).toHaveCount(0);
  await page.getByRole("button", { name: "Schedule the hearing" }).click();
  await expect(page).toHaveURL(/#\/manage\/[\w-]+$/);
  const hearingId = /#\/manage\/([\w-]+)$/.exec(page.url())![1];
  await expect(page.getByRole("heading", { level: 1 })).toContainText("First hearing");

  // The schedule form in Chinese, with its errors.
  await toZh(page);
  await go(page, "/docket/schedule");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("安排庭审");
  await page.getByRole("button", { name: "安排庭审" }).click();
  // Every problem is listed (the case just made stays chosen).
  await expect(page.locator(".error-summary li")).toHaveText(["请输入名称", "请输入开始时间", "请输入结束时间"]);
  await expectAccessible(page, "schedule with an error (zh)");
  await go(page, "/docket/new-case");
  await page.getByRole("button", { name: "创建案件" }).click();
  await expect(page.locator(".error-summary")).toContainText("请输入案号");
  await expectAccessible(page, "new case with an error (zh)");
  await toEn(page);
  await go(page, `/manage/${hearingId}`);

  // Three invitations, each link copied from the page.
  const codes: Record<string, string> = {};
  for (const [name, role] of [["Wu Witness", "Witness"], ["Chen Counsel", "Counsel"], ["Lin Party", "Party"]]) {
    await page.getByLabel("Full name").fill(name);
    await page.getByLabel("Role", { exact: true }).selectOption({ label: role });
    await page.getByRole("button", { name: "Create an invitation link" }).click();
    const card = page.locator(".link-card").filter({ hasText: name });
    await expect(card.locator("img.qr")).toHaveAttribute("src", /^data:image\/png;base64,/);
    await card.getByRole("button", { name: `Copy the link for ${name}` }).click();
    await expect(card.getByRole("status")).toHaveText("Copied.");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await card.locator(".invite-link").textContent());
    expect(copied.startsWith(`${server.url}/#/join/`)).toBe(true);
    codes[name] = decodeURIComponent(copied.slice(`${server.url}/#/join/`.length));
    await expect(page.locator("#manage-summary ~ section tr", { hasText: name })).toContainText("Invited");
  }
  await expectAccessible(page, "manage with links");
  await screenshot(page, "manage-links");
  await fitsPhone(page);
  await toZh(page);
  await expect(page.locator(".link-card")).toHaveCount(3);
  await expectAccessible(page, "manage with links (zh)");
  await toEn(page);

  // The witness's link is re-issued: the old code is refused, the new one works.
  await page.getByRole("button", { name: "New link for Wu Witness" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "current link will stop working" })).toBeVisible();
  await page.getByRole("button", { name: "Issue a new link" }).click();
  await expect(page.locator(".link-card").filter({ hasText: "Wu Witness" })).toHaveCount(2);
  const newWitness = decodeURIComponent((await page.locator(".link-card").filter({ hasText: "Wu Witness" }).last().locator(".invite-link").textContent())!.split("/#/join/")[1]);
  expect(newWitness).not.toBe(codes["Wu Witness"]);
  const anon = clients(server.url);
  const old = await anon.auth.redeemInvite({ code: codes["Wu Witness"] }).catch((e) => ConnectError.from(e));
  expect(old instanceof ConnectError && old.code).toBe(Code.Unauthenticated);
  expect((await anon.auth.redeemInvite({ code: newWitness })).participant?.displayName).toBe("Wu Witness");
  // The other two links redeem: the counsel's in their own browser, reaching the join screen.
  expect((await anon.auth.redeemInvite({ code: codes["Lin Party"] })).participant?.displayName).toBe("Lin Party");
  const counsel = await people("counsel");
  await counsel.page.goto(`${server.url}/?lang=en#/join/${encodeURIComponent(codes["Chen Counsel"])}`);
  await expect(counsel.page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(counsel.page.getByText("This invitation link does not work")).toHaveCount(0);

  // The other hearing is cancelled with a reason, after a confirmation.
  await go(page, `/manage/${busyHearing.id}`);
  await page.getByRole("button", { name: "Cancel the hearing" }).click();
  await expect(page.locator(".error-summary")).toContainText("Enter the reason for cancelling");
  await page.getByLabel("Reason for cancelling").fill("The parties settled.");
  await page.getByRole("button", { name: "Cancel the hearing" }).click();
  await page.getByRole("button", { name: "Yes, cancel the hearing" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The hearing is cancelled." })).toBeVisible();
  await expect(page.locator("#manage-summary")).toContainText("Cancelled");
  expect((await clerk.hearings.getHearing({ hearingId: busyHearing.id })).state).toBe(HearingState.CANCELLED);
});

test("a clerk's docket: today first among many, a page at a time, filters, no judge-only control", async ({ server, people }) => {
  const clerk = await server.as("clerk");
  const judgeId = await userId(server, "judge");
  const judge2Id = await userId(server, "judge2");
  const c = await clerk.cases.createCase({ caseNumber: "(2026)京0105民初22222号", title: "Qian v. Sun", visibility: Visibility.RESTRICTED });
  const schedule = (title: string, start: number, judge: string) =>
    clerk.hearings.scheduleHearing({ caseId: c.id, title, startsAt: timestampFromMs(start), endsAt: timestampFromMs(start + HOUR), judgeId: judge });
  // 15 hearings on coming days and 15 on past days, alternating judges; one today.
  for (let i = 1; i <= 15; i++) {
    await schedule(`Coming ${i}`, midnight(i) + 9 * HOUR, i % 2 ? judgeId : judge2Id);
    await schedule(`Past ${i}`, midnight(-i) + 9 * HOUR, i % 2 ? judgeId : judge2Id);
  }
  const other = await clerk.cases.createCase({ caseNumber: "(2026)京0105民初33333号", title: "Ma v. Niu", visibility: Visibility.PUBLIC });
  await clerk.hearings.scheduleHearing({ caseId: other.id, title: "Ma v. Niu: directions", startsAt: timestampFromMs(midnight(25) + 9 * HOUR), endsAt: timestampFromMs(midnight(25) + 10 * HOUR), judgeId });
  const now = Date.now();
  const today = await schedule("Today's hearing", midnight() + Math.floor((now - midnight()) / 2), judgeId);

  const person = await people("clerk");
  const page = person.page;
  await signIn(page, server, "clerk");
  const sections = page.locator("main section[id^=docket-]");
  await expect(sections.first()).toHaveAttribute("id", "docket-today");
  const todayRows = page.locator("#docket-today tbody tr");
  await expect(todayRows).toHaveCount(1);
  await expect(todayRows.first()).toHaveAttribute("data-hearing", today.id);
  await expect(todayRows.first()).toContainText("Judge Wang");
  await expect(todayRows.first()).toContainText("(2026)京0105民初22222号");

  // A page at a time, in order, without repeats.
  const coming = page.locator("#docket-upcoming tbody tr");
  await expect(coming).toHaveCount(10);
  await page.locator("#docket-upcoming").getByRole("button", { name: "Show more hearings" }).click();
  await expect(coming).toHaveCount(16);
  await expect(page.locator("#docket-upcoming").getByRole("button", { name: "Show more hearings" })).toHaveCount(0);
  // The keyboard goes on from the first hearing the button brought.
  await expect(coming.nth(10).locator("a").first()).toBeFocused();
  const starts = await coming.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-starts")!));
  expect([...starts].sort()).toEqual(starts);
  expect(new Set(starts).size).toBe(16);
  const past = page.locator("#docket-past tbody tr");
  await expect(past).toHaveCount(10);
  await expect(past.first()).toContainText("Past 1");

  // No judge-only control for a clerk; the court's own links are there.
  await expect(page.locator(".preside-link")).toHaveCount(0);
  await expect(page.getByRole("link", { name: /^Manage/ }).first()).toBeVisible();
  await expectAccessible(page, "docket");
  await screenshot(page, "docket");
  await fitsPhone(page);

  // Filtering by judge: Judge Li's coming hearings only.
  await page.getByLabel("Judge", { exact: true }).selectOption({ label: "Judge Li" });
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.locator("#docket-today")).toContainText("No hearings today.");
  await expect(coming).toHaveCount(7);
  for (const text of await coming.allTextContents()) expect(text).toContain("Judge Li");
  // Filtering by case, found by part of its title.
  await page.getByLabel("Judge", { exact: true }).selectOption({ label: "Any judge" });
  await page.getByLabel("Find a case").fill("Ma v");
  await expect(page.getByLabel("Case", { exact: true }).locator("option")).toHaveCount(2);
  await page.getByLabel("Case", { exact: true }).selectOption({ label: "(2026)京0105民初33333号 Ma v. Niu" });
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(coming).toHaveCount(1);
  await expect(coming.first()).toContainText("Ma v. Niu: directions");
  await expect(page.locator("#docket-past")).toContainText("No past hearings.");

  await toZh(page);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("庭审日程");
  await expectAccessible(page, "docket (zh)");
  await toEn(page);

  // The clerk names the judge when scheduling.
  await page.getByRole("link", { name: "Schedule a hearing" }).click();
  await page.getByLabel("Case", { exact: true }).selectOption({ index: 1 });
  await page.getByLabel("Hearing title").fill("Directions");
  await page.getByLabel("Date").fill(dayValue(midnight(20)));
  await page.getByLabel("Start time").fill("09:00");
  await page.getByLabel("End time").fill("10:00");
  await page.getByRole("button", { name: "Schedule the hearing" }).click();
  await expect(page.locator(".error-summary")).toContainText("Choose the presiding judge");
  await expect(page.getByLabel("Presiding judge")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Presiding judge").selectOption({ label: "Judge Li" });
  await page.getByRole("button", { name: "Schedule the hearing" }).click();
  await expect(page).toHaveURL(/#\/manage\/[\w-]+$/);
  await expect(page.locator("#manage-summary")).toContainText("Judge Li");
  await expect(page.locator(".preside-link")).toHaveCount(0);
  const made = await clerk.hearings.getHearing({ hearingId: /#\/manage\/([\w-]+)$/.exec(page.url())![1] });
  expect(made.presidingJudgeId).toBe(judge2Id);
  expect(timestampMs(made.startsAt!)).toBe(midnight(20) + 9 * HOUR);
});
