// Browser tests: Debian's Chromium (no browser download), one browser per person, against the
// real `opencourt serve` (tests/harness.ts starts one per test). One test at a time: the machine
// has two cores and each test runs a server, its media room and Whisper.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  testMatch: /.*\.spec\.ts/,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 300_000,
  expect: { timeout: 30_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    trace: "retain-on-failure",
  },
});
