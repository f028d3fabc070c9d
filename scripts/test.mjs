// `npm test`: every layer, in order, each counted; exits non-zero if any failed and ends
// with one line `N passed, N failed` (plus `, N skipped` when some were skipped).
//   1. type check (tsc --noEmit)                       counts as one test
//   2. unit tests (vitest --project unit)              counted from vitest's JSON report
//   3. next build                                      counts as one test (the lab layer needs it)
//   4. inside ONE private lab (scripts/lab/enter.mjs): vitest --project lab, then Playwright
//                                                      counted from their JSON reports
//   5. host check: `ip netns list` and iptables-save of the real host are what they were
//      before step 1                                   counts as one test
// Set NSLAB_DIST_DIR to build into (and test) another directory than .next.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { bin, distDir, nextBuild, root, runInherit, say, which } from "./lib.mjs";

const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-test-"));
/** One row per layer: what it counted. */
const layers = [];
const count = (name, passed, failed, skipped = 0, note = "") => layers.push({ name, passed, failed, skipped, note });

const heading = (text) => console.log(`\n${"═".repeat(4)} nslab test: ${text} ${"═".repeat(Math.max(4, 60 - text.length))}`);

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/** Counts a vitest JSON report; a file that failed to load (no tests in it) counts as one failure. */
function countVitest(name, file, exitCode) {
  const report = readJson(file);
  if (!report) {
    count(name, 0, 1, 0, `no report (vitest exited ${exitCode})`);
    return;
  }
  let failed = report.numFailedTests ?? 0;
  for (const suite of report.testResults ?? []) {
    const anyFailed = (suite.assertionResults ?? []).some((a) => a.status === "failed");
    if (suite.status === "failed" && !anyFailed) failed += 1; // import error, hook failure
  }
  if (exitCode !== 0 && failed === 0) failed = 1; // e.g. unhandled errors between tests
  count(name, report.numPassedTests ?? 0, failed, (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0));
}

/** Counts a Playwright JSON report (stats: expected, unexpected, flaky, skipped). */
function countPlaywright(file, exitCode) {
  const report = readJson(file);
  if (!report?.stats) {
    count("playwright", 0, 1, 0, `no report (playwright exited ${exitCode})`);
    return;
  }
  const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = report.stats;
  let failed = unexpected;
  if (exitCode !== 0 && failed === 0) failed = 1; // global errors: config, web server, timeouts
  count("playwright", expected + flaky, failed, skipped, flaky ? `${flaky} flaky` : "");
}

/** The parts of the real host that tests must never change. */
async function hostSnapshot() {
  const strip = (text) =>
    text
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("#"))
      .map((line) => line.replace(/\s*\[\d+:\d+\]/g, ""))
      .join("\n");
  const read = async (argv) => {
    if (!which(argv[0])) return `(${argv[0]} missing)`;
    const r = await execa(argv[0], argv.slice(1), { reject: false });
    return r.exitCode === 0 ? r.stdout : `(${argv.join(" ")} failed: ${r.stderr.trim()})`;
  };
  return {
    "ip netns list": await read(["ip", "netns", "list"]),
    "iptables-save": strip(await read(["iptables-save"])),
    "ip6tables-save": strip(await read(["ip6tables-save"])),
  };
}

function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  return [...a.filter((l) => !b.includes(l)).map((l) => `  - ${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `  + ${l}`)];
}

const hostBefore = await hostSnapshot();

heading("type check (tsc --noEmit)");
const tscExit = await runInherit([process.execPath, bin.tsc, "--noEmit"]);
count("tsc --noEmit", tscExit === 0 ? 1 : 0, tscExit === 0 ? 0 : 1);

heading("unit tests (vitest --project unit)");
const unitJson = path.join(outDir, "unit.json");
const unitExit = await runInherit([
  process.execPath,
  bin.vitest,
  "run",
  "--project",
  "unit",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${unitJson}`,
]);
countVitest("unit", unitJson, unitExit);

heading(`build (next build into ${path.relative(root, distDir)})`);
const buildExit = await nextBuild();
count("next build", buildExit === 0 ? 1 : 0, buildExit === 0 ? 0 : 1);

if (buildExit !== 0) {
  heading("lab skipped: the build failed");
} else {
  heading("private lab: kernel/API tests, then Playwright");
  // Test servers, data dirs and browser profiles go under one temporary directory,
  // removed at the end when everything passed (kept for a look when something failed).
  // Like /tmp (sticky, writable by all): programs that tests run as other users (nobody)
  // must reach their files there.
  const labTmp = path.join(outDir, "tmp");
  fs.mkdirSync(labTmp, { recursive: true });
  fs.chmodSync(outDir, 0o755);
  fs.chmodSync(labTmp, 0o1777);
  const labExit = await runInherit([process.execPath, bin.lab, "--", process.execPath, path.join(root, "scripts", "test-lab.mjs"), outDir], {
    env: { TMPDIR: labTmp },
  });
  const exits = readJson(path.join(outDir, "lab-exit.json"));
  if (!exits) {
    count("lab", 0, 1, 0, `the lab did not run (exit ${labExit})`);
  } else {
    countVitest("lab", path.join(outDir, "lab.json"), exits.lab);
    if (exits.playwright === null) layers.push({ name: "playwright", passed: 0, failed: 0, skipped: 0, note: "skipped: no playwright.config.ts" });
    else countPlaywright(path.join(outDir, "playwright.json"), exits.playwright);
  }
}

heading("host check (ip netns list, iptables-save)");
const hostAfter = await hostSnapshot();
const changed = Object.keys(hostBefore).filter((k) => hostBefore[k] !== hostAfter[k]);
if (changed.length === 0) {
  say("the host's network namespaces and firewall rules are as they were");
  count("host unchanged", 1, 0);
} else {
  console.error("\n!!!!!!!! nslab: THE TESTS CHANGED THE REAL HOST'S NETWORK STATE !!!!!!!!");
  for (const key of changed) {
    console.error(`${key} differs (before -, after +):`);
    for (const line of diffLines(hostBefore[key], hostAfter[key])) console.error(line);
  }
  console.error("!!!!!!!! clean it up by hand; tests must run only inside the lab (scripts/lab/enter.mjs) !!!!!!!!\n");
  count("host unchanged", 0, 1);
}

const anyFailed = layers.some((l) => l.failed > 0);
if (anyFailed) say(`reports and test data kept in ${outDir}`);
else fs.rmSync(outDir, { recursive: true, force: true });

heading("summary");
for (const l of layers) {
  const skipped = l.skipped ? `, ${l.skipped} skipped` : "";
  console.log(`  ${l.name.padEnd(16)} ${l.passed} passed, ${l.failed} failed${skipped}${l.note ? `  (${l.note})` : ""}`);
}
const total = layers.reduce((t, l) => ({ passed: t.passed + l.passed, failed: t.failed + l.failed, skipped: t.skipped + l.skipped }), {
  passed: 0,
  failed: 0,
  skipped: 0,
});
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
process.exit(total.failed === 0 ? 0 : 1);
