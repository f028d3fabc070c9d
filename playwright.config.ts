import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";

/**
 * Browser tests: Debian's Chromium against the real, built console (`next start`), both
 * inside the private lab (scripts/lab/enter.mjs), never in this machine's real network.
 *
 *   NSLAB_DIST_DIR=.next-ui npx next build
 *   NSLAB_DIST_DIR=.next-ui node scripts/lab/enter.mjs -- npx playwright test
 *
 * This file is loaded by the runner and again by each worker: values that must agree
 * (port, data dir, HOME) are chosen once and handed on through the environment.
 */
if (process.env.NSLAB_LAB !== "1") {
  throw new Error(
    "Playwright tests run only inside the private lab (they start a server and a browser in its network namespace):\n" +
      "  node scripts/lab/enter.mjs -- npx playwright test",
  );
}

const root = import.meta.dirname;
/** Inside the lab's own network namespace nothing else listens, so a fixed port is free. */
const port = Number(process.env.NSLAB_E2E_PORT ?? 3100);
process.env.NSLAB_E2E_PORT = String(port);
process.env.NSLAB_E2E_ADMIN_PASSWORD ??= "admin-password-for-e2e";
process.env.NSLAB_E2E_DATA_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "nslab-e2e-data-"));
process.env.NSLAB_E2E_HOME ??= fs.mkdtempSync(path.join(os.tmpdir(), "nslab-e2e-home-"));
process.env.NSLAB_E2E_SCREENSHOTS ??= path.join(root, "artifacts", "screenshots");

const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "artifacts/test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  forbidOnly: !!process.env.CI,
  reporter: [
    ["list"],
    ["json", { outputFile: process.env.PLAYWRIGHT_JSON_OUTPUT_FILE ?? process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ?? path.join(root, "artifacts", "playwright-results.json") }],
  ],
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      // Chromium writes under HOME: give it a throwaway one.
      env: { ...process.env, HOME: process.env.NSLAB_E2E_HOME } as Record<string, string>,
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  // The server is started from an argv array by e2e/global-setup.ts (no shell).
  globalSetup: "./e2e/global-setup.ts",
});
