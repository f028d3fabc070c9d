// Enters a private network+mount namespace (the "lab") and runs a command there.
// Nothing done inside changes the host's real network namespace: it ends when the
// command does. Usage: node scripts/lab/enter.mjs -- COMMAND [ARG...]
import { execa } from "execa";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sep = process.argv.indexOf("--");
const command = sep >= 0 ? process.argv.slice(sep + 1) : process.argv.slice(2);
const result = await execa(
  "unshare",
  ["--net", "--mount", "--propagation", "private", "--", process.execPath, path.join(here, "inside.mjs"), "--", ...command],
  // The host's network namespace, as seen from here: code inside the lab compares it with
  // its own to prove it is not on the host before it changes anything wholesale.
  { stdio: "inherit", reject: false, env: { NSLAB_HOST_NETNS: fs.readlinkSync("/proc/self/ns/net") } },
);
process.exit(result.exitCode ?? 1);
