// `npm start`'s server half (scripts/start.mjs) inside the lab: a bad configuration is
// refused with a clear message; a good one serves the console as ONE process and says
// where to sign in. (The install and build halves run in every fresh-clone `npm test`.)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa, type ResultPromise } from "execa";
import { ApiClient } from "./api-client";
import { requireLab } from "./lab";
import { freePort } from "./server";

const root = path.resolve(import.meta.dirname, "..");
const startScript = path.join(root, "scripts", "start.mjs");
const children: ResultPromise[] = [];

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGKILL");
    await child.catch(() => undefined);
  }
});

function env(extra: Record<string, string>): Record<string, string> {
  return {
    NSLAB_LOG_LEVEL: "warn",
    ...(process.env.NSLAB_DIST_DIR ? { NSLAB_DIST_DIR: process.env.NSLAB_DIST_DIR } : {}),
    ...extra,
  };
}

/** Pids whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("scripts/start.mjs", () => {
  it("refuses a bad configuration, naming each bad variable, and serves nothing", async () => {
    requireLab();
    const result = await execa(process.execPath, [startScript], {
      cwd: root,
      env: env({ NSLAB_PORT: "eighty", NSLAB_POOL: "10.0.0.0/33", NSLAB_ADMIN_PASSWORD: "tiny" }),
      reject: false,
      all: true,
    });
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('NSLAB_PORT="eighty"');
    expect(result.all).toContain("NSLAB_POOL");
    expect(result.all).toContain("NSLAB_ADMIN_PASSWORD=(hidden)");
    expect(result.all).not.toContain("tiny");
  });

  it("serves the console as one process on NSLAB_HOST:NSLAB_PORT and prints where to sign in", async () => {
    requireLab();
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-start-"));
    const child = execa(process.execPath, [startScript], {
      cwd: root,
      env: env({ NSLAB_HOST: "127.0.0.1", NSLAB_PORT: String(port), NSLAB_DATA_DIR: dataDir, NSLAB_ADMIN_PASSWORD: "" }),
      reject: false,
      all: true,
    });
    children.push(child);
    let output = "";
    const signInLine = `sign in at http://127.0.0.1:${port}/login`;
    await new Promise<void>((resolve, reject) => {
      child.all!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(signInLine)) resolve();
      });
      child.then(() => reject(new Error(`start.mjs exited before it was ready:\n${output}`)));
    });

    // The generated first-admin password was printed, and it signs in.
    const password = /created user admin with password (\S+)/.exec(output)?.[1];
    expect(password, output).toBeTruthy();
    expect(fs.readFileSync(path.join(dataDir, "initial-admin-password"), "utf8").trim()).toBe(password);
    const admin = new ApiClient(`http://127.0.0.1:${port}`);
    await admin.login("admin", password!);
    expect(await admin.query("auth.me")).toMatchObject({ username: "admin", role: "admin" });
    const page = await fetch(`http://127.0.0.1:${port}/login`);
    expect(page.status).toBe(200);

    // One process: nothing was spawned (no npx, no separate next-server).
    expect(childrenOf(child.pid!)).toEqual([]);

    // TERM stops it, and the port is free again.
    child.kill("SIGTERM");
    await child;
    await expect(fetch(`http://127.0.0.1:${port}/login`)).rejects.toThrow();
  });
});
