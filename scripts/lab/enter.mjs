// Enters a private network+mount namespace (the "lab") and runs a command there.
// Nothing done inside changes the host's real network namespace: it ends when the
// command does. Usage: node scripts/lab/enter.mjs -- COMMAND [ARG...]
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sep = process.argv.indexOf("--");
const command = sep >= 0 ? process.argv.slice(sep + 1) : process.argv.slice(2);
const result = await execa(
  "unshare",
  ["--net", "--mount", "--propagation", "private", "--", process.execPath, path.join(here, "inside.mjs"), "--", ...command],
  { stdio: "inherit", reject: false },
);
process.exit(result.exitCode ?? 1);
