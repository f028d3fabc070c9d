// Runs inside ONE private lab (node scripts/lab/enter.mjs -- node scripts/test-lab.mjs [DIR]):
// the vitest lab project (kernel and API tests), one file at a time with the lab reset
// between files (scripts/lab/reset.mjs: so what one file leaves behind, a rule, a
// namespace, cannot make another pass or fail), then Playwright when the project has a
// playwright.config.ts. Writes JSON reports into DIR for scripts/test.mjs to count (lab.json
// merges the files' reports) and each layer's exit code into DIR/lab-exit.json.
// Exits non-zero if either layer failed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bin, root, runInherit, say } from "./lib.mjs";
import { resetLab } from "./lab/reset.mjs";

if (process.env.NSLAB_LAB !== "1") {
  console.error("nslab: scripts/test-lab.mjs runs only inside the lab: node scripts/lab/enter.mjs -- node scripts/test-lab.mjs DIR");
  process.exit(2);
}
const outDir = path.resolve(process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), "nslab-test-")));
fs.mkdirSync(outDir, { recursive: true });
const exits = {};
const ipForward = fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();

/** The lab project's test files, as vitest itself resolves them from vitest.config.ts. */
async function labFiles() {
  const listFile = path.join(outDir, "lab-files.json");
  const code = await runInherit([process.execPath, bin.vitest, "list", "--project", "lab", "--filesOnly", `--json=${listFile}`], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (code !== 0) return null;
  return JSON.parse(fs.readFileSync(listFile, "utf8")).map((entry) => entry.file);
}

say("── lab: vitest --project lab (kernel and API tests against a real server), one file at a time");
const files = await labFiles();
const merged = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, testResults: [] };
exits.lab = files === null ? 1 : 0;
for (const [i, file] of (files ?? []).entries()) {
  const removed = await resetLab({ ipForward });
  if (removed.length) say(`lab reset before ${path.relative(root, file)}: removed ${removed.join(", ")}`);
  const json = path.join(outDir, `lab-${i}.json`);
  const code = await runInherit([
    process.execPath,
    bin.vitest,
    "run",
    "--project",
    "lab",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${json}`,
    file,
  ]);
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(json, "utf8"));
  } catch {
    // no report: counted as a failure below
  }
  if (!report) {
    merged.testResults.push({ name: file, status: "failed", assertionResults: [] });
  } else {
    for (const key of ["numPassedTests", "numFailedTests", "numPendingTests", "numTodoTests"]) merged[key] += report[key] ?? 0;
    merged.testResults.push(...(report.testResults ?? []));
    if (code !== 0 && !report.numFailedTests && !(report.testResults ?? []).some((r) => r.status === "failed")) {
      merged.testResults.push({ name: `${file} (vitest exited ${code})`, status: "failed", assertionResults: [] });
    }
  }
  if (code !== 0) exits.lab = 1;
}
fs.writeFileSync(path.join(outDir, "lab.json"), JSON.stringify(merged));
await resetLab({ ipForward });

const playwrightConfig = ["playwright.config.ts", "playwright.config.mjs", "playwright.config.js"].find((f) =>
  fs.existsSync(path.join(root, f)),
);
if (!playwrightConfig) {
  say("── lab: Playwright skipped: there is no playwright.config.ts yet");
  exits.playwright = null;
} else {
  say(`── lab: Playwright (${playwrightConfig}, Debian's Chromium)`);
  // Chromium writes under HOME: give it a throwaway one.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-pw-home-"));
  exits.playwright = await runInherit([process.execPath, bin.playwright, "test", "--reporter=list,json"], {
    env: { PLAYWRIGHT_JSON_OUTPUT_FILE: path.join(outDir, "playwright.json"), HOME: home },
  });
  fs.rmSync(home, { recursive: true, force: true });
}

fs.writeFileSync(path.join(outDir, "lab-exit.json"), JSON.stringify(exits));
process.exit(exits.lab === 0 && (exits.playwright ?? 0) === 0 ? 0 : 1);
