// Runs inside ONE private lab (node scripts/lab/enter.mjs -- node scripts/test-lab.mjs DIR):
// the vitest lab project (kernel and API tests), then Playwright when the project has a
// playwright.config.ts. Writes JSON reports into DIR for scripts/test.mjs to count, and
// prints each layer's exit code in DIR/lab-exit.json. Exits non-zero if either failed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { bin, root, runInherit, say } from "./lib.mjs";

if (process.env.NSLAB_LAB !== "1") {
  console.error("nslab: scripts/test-lab.mjs runs only inside the lab: node scripts/lab/enter.mjs -- node scripts/test-lab.mjs DIR");
  process.exit(2);
}
const outDir = path.resolve(process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), "nslab-test-")));
fs.mkdirSync(outDir, { recursive: true });
const exits = {};

say("── lab: vitest --project lab (kernel and API tests against a real server)");
exits.lab = await runInherit([
  process.execPath,
  bin.vitest,
  "run",
  "--project",
  "lab",
  "--passWithNoTests",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${path.join(outDir, "lab.json")}`,
]);

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
