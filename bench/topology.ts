/**
 * bench/topology: how the topology graph (the home page) copes with many sandboxes, in
 * Debian's Chromium against the real server, inside the private lab. A script that
 * prints figures, not a test: nothing here fails on a time.
 *
 *   NSLAB_DIST_DIR=.next-ui npx next build
 *   NSLAB_DIST_DIR=.next-ui node scripts/lab/enter.mjs -- node --import tsx bench/topology.ts
 *
 * Env: BENCH_N=200 (sandboxes, made with one sandbox.createMany), BENCH_SHOT=path.png
 * (a screenshot of the graph; default artifacts/screenshots/topology-200.png).
 *
 * Prints: createMany time; from navigation to every sandbox node drawn (ELK layout
 * included); a search-and-focus round; a click on a node until its sandbox page shows;
 * frames per second while panning and zooming.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { chromium } from "@playwright/test";
import { startServer } from "../test-support/server";
import { ApiClient } from "../test-support/api-client";
import { requireLab } from "../test-support/lab";

requireLab();
const N = Number(process.env.BENCH_N ?? 200);
const shot = path.resolve(process.env.BENCH_SHOT ?? "artifacts/screenshots/topology-200.png");

const ms = (t0: number) => `${Math.round(performance.now() - t0)} ms`;
const server = await startServer();
const home = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-bench-home-"));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  env: { ...process.env, HOME: home } as Record<string, string>,
});
try {
  const api = new ApiClient(server.baseURL);
  await api.login("admin", server.adminPassword);
  let t0 = performance.now();
  await api.mutate("sandbox.createMany", { sandboxes: Array.from({ length: N }, (_, k) => ({ name: `bench-${k + 1}` })) });
  console.log(`sandbox.createMany of ${N}: ${ms(t0)}`);

  const context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(server.adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-user").waitFor();

  // Cold load of the graph: navigation until all N sandbox nodes are in the DOM.
  // (Nodes outside the view are not rendered when there are many: count via the data.)
  t0 = performance.now();
  await page.goto("/");
  await page.getByText(`${N} sandboxes`).waitFor({ timeout: 120_000 });
  await page.locator('[data-testid^="topo-sandbox-"]').first().waitFor({ timeout: 120_000 });
  console.log(`graph drawn (load + topology.get + ELK layout + fit): ${ms(t0)}`);
  console.log(`sandbox nodes in the DOM after fit: ${await page.locator('[data-testid^="topo-sandbox-"]').count()}`);
  await page.waitForTimeout(2500);
  fs.mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);

  // Find by name, Enter focuses it; then click opens the sandbox page.
  const target = `bench-${Math.ceil(N / 2)}`;
  t0 = performance.now();
  const find = page.getByLabel("Find a sandbox by name or address");
  await find.fill(target);
  await page.getByTestId("find-count").waitFor();
  await find.press("Enter");
  await page.getByTestId(`topo-sandbox-${target}`).waitFor();
  console.log(`find "${target}" and focus it: ${ms(t0)}`);
  t0 = performance.now();
  await page.getByTestId(`topo-sandbox-${target}`).click();
  await page.getByTestId("detail-address").waitFor();
  console.log(`click on the node until its sandbox page shows: ${ms(t0)}`);

  // Frames while panning and zooming the full graph.
  await page.goto("/");
  await page.getByText(`${N} sandboxes`).waitFor();
  await page.locator('[data-testid^="topo-sandbox-"]').first().waitFor();
  await page.waitForTimeout(500);
  const box = (await page.getByTestId("topology").boundingBox())!;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  // A string, not a function: tsx's helpers (__name) do not exist in the page.
  await page.evaluate("window.__frames = 0; window.__run = true; (function tick() { window.__frames++; if (window.__run) requestAnimationFrame(tick); })();");
  t0 = performance.now();
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 0; k < 60; k++) await page.mouse.move(cx + Math.sin(k / 6) * 250, cy + Math.cos(k / 6) * 150);
  await page.mouse.up();
  for (let k = 0; k < 20; k++) await page.mouse.wheel(0, k < 10 ? -120 : 120);
  const seconds = (performance.now() - t0) / 1000;
  const frames = Number(await page.evaluate("window.__run = false; window.__frames"));
  console.log(`pan + zoom: ${(frames / seconds).toFixed(1)} frames/s over ${seconds.toFixed(1)} s`);

  await api.mutate("sandbox.deleteMany", { names: Array.from({ length: N }, (_, k) => `bench-${k + 1}`) });
} finally {
  await browser.close();
  await server.stop();
  fs.rmSync(home, { recursive: true, force: true });
}
