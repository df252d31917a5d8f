// The case record and transcript search: a hearing where a witness (a real `opencourt bot`
// sending espeak's speech over WebRTC) spoke on the record is adjourned and transcribed; a clerk
// finds the case, opens its record (the hearing, its tracks with hashes — a download's bytes
// match its hash — and its transcript), verifies the log, and finds the witness's words by search.
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import readline from "node:readline";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Presence, Role, Visibility } from "../src/gen/court/v1/common_pb";
import { test, expect, expectAccessible, screenshot, microphone, clients, BIN, STAFF, type Server } from "./harness";
import type { Page } from "@playwright/test";

const PHRASE = "The contract was signed in Shanghai on the first of May.";

/** `opencourt bot` as an invited participant; resolves lines as it prints them. */
function bot(server: Server, hearingId: string, code: string, wav: string): { child: ChildProcess; until: (prefix: string) => Promise<string> } {
  const child = spawn(BIN, ["bot", "--server", server.url, "--invite-env", "OC_BOT_CODE", "--hearing", hearingId, "--audio", wav], {
    env: { ...process.env, OC_BOT_CODE: code, OPENCOURT_ICE_LOCAL_ADDRESS: "127.0.0.1", RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const seen: string[] = [];
  const waiters: [string, (l: string) => void][] = [];
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    seen.push(line);
    for (const w of waiters.filter(([p]) => line.startsWith(p))) {
      waiters.splice(waiters.indexOf(w), 1);
      w[1](line);
    }
  });
  const until = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const had = seen.find((l) => l.startsWith(prefix));
      if (had) return resolve(had);
      waiters.push([prefix, resolve]);
      child.once("exit", (c) => reject(new Error(`bot exited (${c}) before "${prefix}"; it said:\n${seen.join("\n")}`)));
    });
  return { child, until };
}

async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/?lang=en#/`);
  await page.getByLabel("User name").fill("clerk");
  await page.getByLabel("Password").fill(STAFF.clerk[0]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/#\/docket$/);
}

async function go(page: Page, path: string): Promise<void> {
  await page.evaluate((p) => (location.hash = p), path);
}

test("a clerk reads an adjourned hearing's record, verifies its log, downloads by hash and finds words said", async ({ server, people, scratch }) => {
  test.setTimeout(600_000);
  const clerkApi = await server.as("clerk");
  const judgeApi = await server.as("judge");
  const judgeUser = (await clients(server.url).auth.login({ username: "judge", password: STAFF.judge[0] })).user!;
  const c = await clerkApi.cases.createCase({ caseNumber: "(2026)京0105民初31415号", title: "Zhou v. Wu", visibility: Visibility.RESTRICTED });
  const now = Date.now();
  const hearing = await clerkApi.hearings.scheduleHearing({ caseId: c.id, title: "Evidence of the witness", startsAt: timestampFromMs(now), endsAt: timestampFromMs(now + 3600_000), judgeId: judgeUser.id });
  const hearingId = hearing.id;
  const invite = await clerkApi.hearings.inviteParticipant({ hearingId, displayName: "Wu Witness", role: Role.WITNESS });
  await judgeApi.hearings.openHearing({ hearingId });
  await judgeApi.hearings.goOnRecord({ hearingId });

  const witness = bot(server, hearingId, invite.code, microphone(scratch, "witness", PHRASE));
  try {
    await witness.until("joined");
    await expect.poll(async () => (await judgeApi.hearings.getHearing({ hearingId })).participants.find((p) => p.id === invite.participant!.id)?.presence, { timeout: 60_000 }).toBe(Presence.WAITING);
    await judgeApi.hearings.admitParticipant({ hearingId, participantId: invite.participant!.id });
    await witness.until("audio sent");
    await judgeApi.hearings.adjournHearing({ hearingId, reason: "evidence heard" });
    await witness.until("done");
  } finally {
    witness.child.kill("SIGTERM");
  }
  // The transcript is made after the adjournment (real whisper on the tiny.en model).
  await expect.poll(async () => (await clerkApi.cases.getCaseRecord({ caseId: c.id })).hearings[0]?.hasTranscript, { timeout: 300_000, intervals: [2000] }).toBe(true);

  const clerk = await people("clerk");
  const page = clerk.page;
  await signIn(page, server.url);

  // The case list, searched.
  await page.getByRole("link", { name: "Case records" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Case records");
  await page.getByLabel("Find a case").fill("Zhou");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.locator("#case-results tbody tr")).toHaveCount(1);
  await expectAccessible(page, "cases");
  await page.getByLabel("Find a case").fill("no such case at all");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.locator("#case-results")).toContainText("No case matches.");
  await page.getByLabel("Find a case").fill("");
  await page.getByRole("button", { name: "Find" }).click();
  await page.getByRole("link", { name: "(2026)京0105民初31415号" }).click();

  // The record: the hearing, adjourned; its log verifies.
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Zhou v. Wu");
  const section = page.locator(`section[data-hearing="${hearingId}"]`);
  await expect(section).toContainText("Evidence of the witness");
  await expect(section).toContainText("Adjourned");
  await section.getByRole("button", { name: /^Verify the event log/ }).click();
  await expect(section.locator(".verdict")).toContainText("The log is intact");

  // The witness's own track: its hash is shown, and the downloaded bytes have that hash.
  const track = section.locator(".media-files").last().locator("tbody tr").filter({ hasText: "Wu Witness" }).first();
  const shown = (await track.locator(".hash").textContent())!;
  expect(shown).toMatch(/^[0-9a-f]{64}$/);
  const [download] = await Promise.all([page.waitForEvent("download"), track.getByRole("button", { name: /^Download/ }).click()]);
  const bytes = fs.readFileSync((await download.path())!);
  expect(crypto.createHash("sha256").update(bytes).digest("hex")).toBe(shown);

  // The transcript: read on the page, and downloaded as WebVTT.
  await section.getByRole("button", { name: "Read the transcript" }).click();
  await expect(section.locator(".transcript-text")).toContainText(/contract/i);
  const [vtt] = await Promise.all([page.waitForEvent("download"), section.getByRole("button", { name: "Download the transcript as WebVTT" }).click()]);
  expect(fs.readFileSync((await vtt.path())!, "utf8")).toMatch(/^WEBVTT/);
  await expectAccessible(page, "case record");
  await screenshot(page, "case-record");

  // Search finds the witness's words and leads back to the record.
  await go(page, "/search");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Search transcripts");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator(".error-summary")).toContainText("Enter the words to find");
  await page.getByLabel("Words to find").fill("contract");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const hit = page.locator(`#search-results li[data-hearing="${hearingId}"]`).first();
  await expect(hit).toContainText("(2026)京0105民初31415号");
  await expect(hit.locator("mark")).toContainText(/contract/i);
  await expectAccessible(page, "search");
  await screenshot(page, "search");
  await page.getByLabel("Words to find").fill("xylophone zebra");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator("#search-results")).toContainText("Nothing found.");
  await page.getByLabel("Words to find").fill("contract");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await hit.getByRole("link", { name: /Open the case record/ }).click();
  await expect(page).toHaveURL(new RegExp(`#/case/${c.id}$`));

  // The same screens in Chinese.
  await page.getByRole("button", { name: "中文" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("案件记录");
  await expectAccessible(page, "case record (zh)");
  await go(page, "/search");
  await expect(page.locator("#search-results li").first()).toBeVisible();
  await expectAccessible(page, "search (zh)");
  await go(page, "/cases");
  await expect(page.locator("#case-results tbody tr")).toHaveCount(1);
  await expectAccessible(page, "cases (zh)");
});
