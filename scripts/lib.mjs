// Helpers shared by nslab's own scripts (ensure-ready, start, test). These run after
// the npm packages are installed (scripts/deps.mjs checks that first), so they may use
// execa; every command is an argv array, never a shell string.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The build directory (next.config.js honours NSLAB_DIST_DIR, so parallel builds can coexist). */
export const distDir = path.resolve(root, process.env.NSLAB_DIST_DIR || ".next");

/** Paths of the tools, run with this very Node (never through npx). */
export const bin = {
  next: path.join(root, "node_modules", "next", "dist", "bin", "next"),
  tsc: path.join(root, "node_modules", "typescript", "bin", "tsc"),
  vitest: path.join(root, "node_modules", "vitest", "vitest.mjs"),
  playwright: path.join(root, "node_modules", "@playwright", "test", "cli.js"),
  lab: path.join(root, "scripts", "lab", "enter.mjs"),
};

/** Prints a line prefixed like every other line nslab's scripts print. */
export function say(line) {
  console.log(`nslab: ${line}`);
}

/** Runs argv with the terminal attached; resolves to the exit code (never throws on failure). */
export async function runInherit(argv, options = {}) {
  const [file, ...args] = argv;
  const result = await execa(file, args, { stdio: "inherit", reject: false, cwd: root, ...options });
  if (result.failed && result.exitCode === undefined) {
    console.error(`nslab: could not run ${argv.join(" ")}: ${result.shortMessage ?? result.message}`);
  }
  return result.exitCode ?? 1;
}

/** Where a command is on PATH (plus the sbin directories root uses), or null. */
export function which(command) {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Files whose change means the build is out of date (tests and docs do not count). */
const BUILD_INPUT_DIRS = ["app", "server", "components", "public"];
const BUILD_INPUT_FILES = [
  "instrumentation.ts",
  "middleware.ts",
  "proxy.ts",
  "next.config.js",
  "postcss.config.mjs",
  "tsconfig.json",
  "package.json",
  "package-lock.json",
];

function newestIn(dir, acc) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return acc;
  }
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      acc = newestIn(file, acc);
    } else if (entry.isFile() && !/\.test\.tsx?$/.test(entry.name)) {
      const mtime = fs.statSync(file).mtimeMs;
      if (mtime > acc.mtime) acc = { mtime, file };
    }
  }
  return acc;
}

/** Why the build must be made (again), or null when it is up to date. */
export function buildStaleness() {
  const stamp = path.join(distDir, "BUILD_ID");
  if (!fs.existsSync(stamp)) return `no build in ${path.relative(root, distDir) || distDir}`;
  const built = fs.statSync(stamp).mtimeMs;
  let newest = { mtime: 0, file: "" };
  for (const dir of BUILD_INPUT_DIRS) newest = newestIn(path.join(root, dir), newest);
  for (const name of BUILD_INPUT_FILES) {
    const file = path.join(root, name);
    if (fs.existsSync(file)) {
      const mtime = fs.statSync(file).mtimeMs;
      if (mtime > newest.mtime) newest = { mtime, file };
    }
  }
  if (newest.mtime > built) return `${path.relative(root, newest.file)} is newer than the build`;
  return null;
}

/** Runs `next build` (into distDir); resolves to its exit code. */
export function nextBuild() {
  return runInherit([process.execPath, bin.next, "build"]);
}

/**
 * Loads server/config.ts (TypeScript, through tsx's scoped import: nothing else in the
 * process is affected) and validates the environment with the product's own schema.
 * Exits with a clear message on a bad value.
 */
export async function checkConfig() {
  const { tsImport } = await import("tsx/esm/api");
  const { loadConfig, ConfigError } = await tsImport("../server/config.ts", import.meta.url);
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError || error?.name === "ConfigError") {
      console.error(error.message);
      console.error("nslab: fix the variable(s) above and start again (README.md lists them all).");
      process.exit(2);
    }
    throw error;
  }
}
