// What every browser test stands on: a real `opencourt serve` (SQLite, its own data directory,
// the tiny.en model for captions and transcripts), staff accounts made with `opencourt user add`,
// a gRPC client (the same generated code as the page, over grpc-web) for setting scenes, one
// Debian Chromium per person with fake camera and microphone (a WAV file it plays in a loop),
// axe-core, and screenshots for the README.
import { test as base, expect, chromium, type Browser, type BrowserContext, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { AuthService } from "../src/gen/court/v1/auth_pb";
import { CaseService } from "../src/gen/court/v1/case_pb";
import { HearingService } from "../src/gen/court/v1/hearing_pb";
import { MediaService } from "../src/gen/court/v1/media_pb";
import { RecordService } from "../src/gen/court/v1/record_pb";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Visibility } from "../src/gen/court/v1/common_pb";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** The server binary: `OPENCOURT_BIN`, else the workspace's debug build. */
export const BIN = process.env.OPENCOURT_BIN ?? path.join(repo, "target/debug/opencourt");

/** Staff every test's server has: user name → [password, role, display name]. */
export const STAFF = {
  judge: ["pw-judge-0123456789", "judge", "Judge Wang"],
  judge2: ["pw-judge2-0123456789", "judge", "Judge Li"],
  clerk: ["pw-clerk-0123456789", "clerk", "Clerk Zhao"],
  admin: ["pw-admin-0123456789", "admin", "Admin Qian"],
} as const;
export type StaffName = keyof typeof STAFF;

/** The tiny.en model, fetched once per machine into the cache the Rust tests share. */
function modelsDir(): string {
  const cache = process.env.OPENCOURT_TEST_CACHE ?? path.join(os.homedir(), ".cache/opencourt/test-data");
  const models = path.join(cache, "models");
  if (!fs.existsSync(path.join(models, "ggml-tiny.en.bin"))) {
    execFileSync(BIN, ["model", "fetch", "tiny.en", "--data", cache], { stdio: "inherit" });
  }
  return models;
}

export function clients(baseUrl: string, token?: string) {
  const auth: Interceptor = (next) => async (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createGrpcWebTransport({ baseUrl, interceptors: [auth] });
  return {
    auth: createClient(AuthService, transport),
    cases: createClient(CaseService, transport),
    hearings: createClient(HearingService, transport),
    media: createClient(MediaService, transport),
    record: createClient(RecordService, transport),
  };
}
export type Clients = ReturnType<typeof clients>;

export class Server {
  child!: ChildProcess;
  url = "";
  readonly dir: string;
  readonly log: string[] = [];

  constructor(readonly name: string, readonly extraArgs: string[] = []) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `oc-web-${name}-`));
  }

  async start(): Promise<void> {
    const data = path.join(this.dir, "data");
    fs.mkdirSync(data, { recursive: true });
    fs.symlinkSync(modelsDir(), path.join(data, "models"));
    for (const [username, [password, role, display]] of Object.entries(STAFF)) {
      execFileSync(BIN, ["user", "add", "--username", username, "--role", role, "--display-name", display, "--password-stdin", "--data", data], {
        input: password + "\n",
        stdio: ["pipe", "ignore", "inherit"],
      });
    }
    this.child = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--data", data, ...this.extraArgs], {
      env: { ...process.env, OPENCOURT_ICE_LOCAL_ADDRESS: "127.0.0.1", RUST_LOG: process.env.RUST_LOG ?? "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stderr!.on("data", (d) => this.log.push(String(d)));
    const lines = readline.createInterface({ input: this.child.stdout! });
    this.url = await new Promise<string>((resolve, reject) => {
      this.child.once("exit", (code) => reject(new Error(`opencourt serve exited (${code}) before listening:\n${this.log.join("")}`)));
      lines.on("line", (line) => {
        const m = /^opencourt listening on (\S+)/.exec(line);
        if (m) resolve(`http://${m[1]}`);
      });
    });
  }

  /** A gRPC client signed in as one of the staff accounts. */
  async as(who: StaffName): Promise<Clients & { token: string }> {
    const res = await clients(this.url).auth.login({ username: who, password: STAFF[who][0] });
    return { ...clients(this.url, res.token), token: res.token };
  }

  stop(): void {
    if (this.child && this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}

/** A WAV for Chromium's fake microphone at 48 kHz: `phrase` spoken (espeak-ng), then 3 s of
 *  silence; silence only when no phrase. Chromium plays it in a loop. */
export function microphone(dir: string, name: string, phrase?: string): string {
  const raw = path.join(dir, `${name}-raw.wav`);
  const out = path.join(dir, `${name}-48k.wav`);
  if (phrase) execFileSync("espeak-ng", ["-v", "en-us", "-s", "150", "-w", raw, phrase]);
  else execFileSync("sox", ["-n", "-r", "16000", "-c", "1", raw, "trim", "0", "1"]);
  execFileSync("sox", ["-V1", raw, "-r", "48000", "-c", "1", "-b", "16", out, "pad", "0", "3"]);
  return out;
}

export interface PersonOptions {
  /** The WAV the fake microphone plays. */
  microphone?: string;
  /** No camera at all (getUserMedia with video fails as on a machine without one). */
  noCamera?: boolean;
  lang?: "en" | "zh";
  /** A phone-sized window. */
  phone?: boolean;
}

/** One person: their own Chromium (fake devices are per browser), one context, one page. */
export class Person {
  constructor(readonly name: string, readonly browser: Browser, readonly context: BrowserContext, readonly page: Page) {}

  static async open(name: string, opts: PersonOptions = {}): Promise<Person> {
    const args = [
      "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
      // WebRTC on one machine: loopback candidates, no mDNS names.
      "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
    ];
    if (!opts.noCamera) args.push("--use-fake-device-for-media-stream");
    else args.push("--use-fake-device-for-media-stream=device-count=0");
    if (opts.microphone) args.push(`--use-file-for-fake-audio-capture=${opts.microphone}`);
    const browser = await chromium.launch({ executablePath: process.env.OPENCOURT_CHROMIUM ?? "/usr/bin/chromium", args, headless: true });
    const context = await browser.newContext({
      permissions: ["camera", "microphone"],
      locale: opts.lang === "zh" ? "zh-CN" : "en-GB",
      viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error(`[${name}] page error: ${e.message}`));
    return new Person(name, browser, context, page);
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
  }
}

/** axe-core on the page as it is now: WCAG 2.1 A and AA, no violations allowed. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", ")}`);
  expect(found, `axe-core violations on "${screen}" (${await page.evaluate(() => document.documentElement.lang)})`).toEqual([]);
}

/** Saves a screenshot for the README when OPENCOURT_SCREENSHOTS names a directory. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.OPENCOURT_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** Every test gets a fresh server and a scratch directory; people are closed at the end. */
export const test = base.extend<{ server: Server; people: (name: string, opts?: PersonOptions) => Promise<Person>; scratch: string }>({
  server: async ({}, use, info) => {
    const server = new Server(info.title.replace(/\W+/g, "-").slice(0, 40));
    await server.start();
    await use(server);
    server.stop();
    if (info.status !== info.expectedStatus) console.error(`server log:\n${server.log.join("").slice(-8000)}`);
  },
  scratch: async ({ server }, use) => use(server.dir),
  people: async ({}, use) => {
    const opened: Person[] = [];
    await use(async (name, opts) => {
      const p = await Person.open(name, opts);
      opened.push(p);
      return p;
    });
    for (const p of opened) await p.close();
  },
});

export { expect };

/** A case and a hearing on it starting now, presided by `judge`, as a clerk would set them up;
 *  the clerk's and the judge's API clients. */
export async function scene(server: Server, opts: { title?: string; judge?: StaffName; visibility?: Visibility } = {}) {
  const { title = "Zhang v. Li", judge: judgeName = "judge", visibility = Visibility.PUBLIC } = opts;
  const clerk = await server.as("clerk");
  const judge = await server.as(judgeName);
  const judgeUser = (await clients(server.url).auth.login({ username: judgeName, password: STAFF[judgeName][0] })).user!;
  const c = await clerk.cases.createCase({ caseNumber: `(2026)京0105民初${Math.floor(Math.random() * 90000 + 10000)}号`, title, visibility });
  const now = Date.now();
  const hearing = await clerk.hearings.scheduleHearing({
    caseId: c.id,
    title: `${title}: first hearing`,
    startsAt: timestampFromMs(now),
    endsAt: timestampFromMs(now + 2 * 3600_000),
    judgeId: judgeUser.id,
  });
  return { clerk, judge, case: c, hearing, judgeUser };
}
