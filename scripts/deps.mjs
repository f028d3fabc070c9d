// Tells whether the npm packages are installed: exits 0 when they are, 1 when `npm ci`
// is needed. Uses Node's built-ins only, since it runs before node_modules exists
// (package.json: `node scripts/deps.mjs || npm run deps`; npm runs the install itself,
// so this script never spawns anything).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

/** What is missing from node_modules, as short reasons. */
function missing() {
  const reasons = [];
  if (!fs.existsSync(path.join(root, "node_modules", ".package-lock.json"))) return ["node_modules is missing"];
  for (const name of Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) {
    if (!fs.existsSync(path.join(root, "node_modules", name, "package.json"))) reasons.push(`${name} is not installed`);
  }
  // better-sqlite3 installs without its binary when its build script did not run.
  const binding = path.join(root, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
  if (pkg.dependencies?.["better-sqlite3"] && !fs.existsSync(binding)) reasons.push("better-sqlite3 has no compiled binary");
  return reasons;
}

const reasons = missing();
if (reasons.length === 0) process.exit(0);
console.log(`nslab: installing npm packages (${reasons.slice(0, 3).join("; ")}${reasons.length > 3 ? "; ..." : ""})`);
console.log("nslab: npm ci builds better-sqlite3 from source; this takes a minute or two");
process.exit(1);
