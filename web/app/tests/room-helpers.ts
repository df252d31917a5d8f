// What the joining and room tests share: the staff's way into a hearing on the page, invitation
// links, waiting for the stored transcript, and how well speech was heard (word error rates as
// transcriber/src/accuracy.rs computes them: words normalised, aligned by edit distance).
import { chromium, type Page } from "@playwright/test";
import { Role, Visibility } from "../src/gen/court/v1/common_pb";
import { TranscriptFormat, type Transcript } from "../src/gen/court/v1/record_pb";
import { expect, scene, STAFF, type Clients, type Server, type StaffName } from "./harness";

/** A case and a hearing on it starting now, presided by Judge Wang and opened (the waiting room
 *  open), as a clerk and judge would set them up; the judge's and clerk's API clients. */
export async function openScene(server: Server) {
  const { clerk, judge, hearing } = await scene(server, { visibility: Visibility.RESTRICTED });
  await judge.hearings.openHearing({ hearingId: hearing.id });
  return { clerk, judge, hearing };
}

/** Signs `who` in on the start page and goes to the hearing room's address. */
export async function staffIntoHearing(page: Page, server: Server, who: StaffName, hearingId: string, lang: "en" | "zh" = "en"): Promise<void> {
  await page.goto(`${server.url}/?lang=${lang}`);
  await page.locator("#login-form input[name=username]").fill(who);
  await page.locator("#login-form input[name=password]").fill(STAFF[who][0]);
  await page.locator("#login-form button[type=submit]").click();
  await expect(page.locator(".who")).toContainText(STAFF[who][2]);
  await page.evaluate((id) => (location.hash = `/hearing/${id}`), hearingId);
}

/** Invites `name` as `role`; the link the court would send. */
export async function invite(server: Server, clerk: Clients, hearingId: string, name: string, role = Role.WITNESS, lang: "en" | "zh" = "en") {
  const res = await clerk.hearings.inviteParticipant({ hearingId, displayName: name, role });
  return { code: res.code, participant: res.participant!, link: `${server.url}/?lang=${lang}#/join/${res.code}` };
}

/** Through the pre-flight: waits for the devices, then joins. */
export async function passPreflight(page: Page): Promise<void> {
  await expect(page.locator("#join-btn")).toBeEnabled({ timeout: 60_000 });
  await page.locator("#join-btn").click();
}

/** Adjourns as the judge and waits for the machine transcript on the record; returns it. */
export async function adjournForTranscript(judge: Clients, clerk: Clients, hearingId: string): Promise<Transcript> {
  const abort = new AbortController();
  const stored = (async () => {
    for await (const ev of clerk.hearings.watchHearing({ hearingId, afterSeq: 0n }, { signal: abort.signal })) {
      if (ev.payload.case === "transcriptStored") return true;
    }
    return false;
  })();
  await judge.hearings.adjournHearing({ hearingId, reason: "concluded" });
  const timeout = new Promise<false>((r) => setTimeout(() => r(false), 300_000));
  const ok = await Promise.race([stored, timeout]);
  abort.abort();
  expect(ok, "the transcript was stored on the record").toBe(true);
  const res = await clerk.record.getTranscript({ hearingId, format: TranscriptFormat.JSON });
  return res.transcript!;
}

/** `speaker`'s segments joined wherever less than `pauseMs` separates them. */
export function utterances(t: Transcript, speaker: string, pauseMs = 2000): string[] {
  const out: { end: bigint; text: string }[] = [];
  for (const s of t.segments.filter((s) => s.speaker === speaker)) {
    const last = out[out.length - 1];
    if (last && s.startMs < last.end + BigInt(pauseMs)) {
      last.end = s.endMs > last.end ? s.endMs : last.end;
      last.text += ` ${s.text}`;
    } else out.push({ end: s.endMs, text: s.text });
  }
  return out.map((u) => u.text);
}

const SPELLINGS: Record<string, string> = { harbour: "harbor", honour: "honor", colour: "color", behaviour: "behavior", defence: "defense", favour: "favor" };

/** Lower case, no punctuation (an apostrophe inside a word stays), British spellings folded. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}']/gu, " ")
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ""))
    .filter((w) => w)
    .map((w) => SPELLINGS[w] ?? w);
}

/** Errors of `hypothesis` against the stretch of `reference` it matches best, and that
 *  stretch's length in words (speech cut off at either end costs nothing). */
export function pieceErrors(reference: string, hypothesis: string): [number, number] {
  const r = words(reference);
  const hy = words(hypothesis);
  if (hy.length === 0) return [0, 0];
  type Cell = [number, number];
  const better = (a: Cell, b: Cell) => (a[0] < b[0] || (a[0] === b[0] && a[1] > b[1]) ? a : b);
  let prev: Cell[] = r.map(() => [0, 0] as Cell).concat([[0, 0]]);
  hy.forEach((hw, i) => {
    const cur: Cell[] = [[i + 1, 0]];
    r.forEach((rw, j) => {
      const diag: Cell = [prev[j][0] + (hw === rw ? 0 : 1), prev[j][1] + 1];
      const insert: Cell = [prev[j + 1][0] + 1, prev[j + 1][1]];
      const del: Cell = [cur[j][0] + 1, cur[j][1] + 1];
      cur.push(better(better(diag, insert), del));
    });
    prev = cur;
  });
  return prev.reduce(better);
}

/** The phrase's word error rate against the part of `heard` it matches best. */
export const wholeWer = (phrase: string, heard: string) => pieceErrors(heard, phrase)[0] / words(phrase).length;

/** Some stretch holds the whole phrase within `whole` (as tests/tests/browser.rs bounds it:
 *  3 of 12 words), and all the stretches together, each against the part of the looping phrase
 *  it holds, within `pieces` (0.43). */
export function assertHeard(what: string, phrase: string, heard: string[], whole = 3 / 12, pieces = 0.43): void {
  const best = Math.min(...heard.map((h) => wholeWer(phrase, h)));
  const looped = [phrase, phrase, phrase].join(" ");
  const [errors, total] = heard.map((h) => pieceErrors(looped, h)).reduce(([e, n], [e2, n2]) => [e + e2, n + n2], [0, 0]);
  console.log(`accuracy, ${what}: whole phrase WER ${best.toFixed(3)}, pieces ${errors} of ${total} wrong: ${JSON.stringify(heard)}`);
  expect(best, `${what}: the whole phrase is not heard: ${JSON.stringify(heard)}`).toBeLessThanOrEqual(whole);
  expect(errors / Math.max(1, total), `${what}: pieces heard: ${JSON.stringify(heard)}`).toBeLessThanOrEqual(pieces);
}

/** The caption lines on `page` spoken by `speaker` (their text only). */
export async function captionsBy(page: Page, speaker: string): Promise<string[]> {
  return page.locator("#captions li").evaluateAll(
    (lis, who) => lis.map((li) => li.textContent ?? "").filter((t) => t.startsWith(`${who}: `)).map((t) => t.slice(who.length + 2)),
    speaker,
  );
}

/** A Chromium without the harness's fake devices or permission grants: `args` decide what the
 *  browser has (e.g. nothing at all on this machine, or media it is not allowed to use). */
export async function bareBrowser(args: string[], grant: boolean) {
  const browser = await chromium.launch({
    executablePath: process.env.OPENCOURT_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", ...args],
    headless: true,
  });
  const context = await browser.newContext({ locale: "en-GB", ...(grant ? { permissions: ["camera", "microphone"] } : {}) });
  return { browser, page: await context.newPage() };
}
