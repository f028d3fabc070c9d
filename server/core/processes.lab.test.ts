import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { lab, requireLab } from "@/test-support/lab";
import { startServer, type TestServer } from "@/test-support/server";
import { ApiClient, apiError } from "@/test-support/api-client";
import { openStore } from "@/server/store/db";
import { processes, sandboxes } from "@/server/store/schema";
import { loadConfig } from "@/server/config";
import { EventBus } from "@/server/core/events";
import { SignInLimiter } from "@/server/auth/rate-limit";
import { ExecaRunner } from "@/server/net/runner";
import type { App } from "@/server/app";
import { launchPrepared, prepareStart, stopProcessesOfSandbox, startInputSchema } from "./processes";
import { parseProcStat } from "../net/programs";

/**
 * Programs in sandboxes, through the API of a real console running in the private lab,
 * in sandboxes made with sandbox.create (the engine).
 */

const NOBODY = 65534;

interface Proc {
  id: string;
  pid: number;
  state: string;
  exitCode?: number | null;
  signal?: string | null;
  argv: string[];
  startedBy: string;
  endedAt?: string;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const k = line.indexOf(":");
    if (k > 0) out[line.slice(0, k)] = line.slice(k + 1).trim();
  }
  return out;
}

const alive = (pid: number) => {
  try {
    const stat = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    return stat !== null && stat.state !== "Z";
  } catch {
    return false;
  }
};
const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
const groupMembers = (pgid: number) =>
  fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map((e) => {
      try {
        return parseProcStat(fs.readFileSync(`/proc/${e}/stat`, "utf8"));
      } catch {
        return null;
      }
    })
    .filter((s) => s && s.pgrp === pgid && s.state !== "Z")
    .map((s) => s!.pid);

/** Reads a tRPC SSE subscription until `done` says so; returns every `data:` payload parsed. */
async function readSse(url: string, cookie: string, done: (events: any[]) => boolean, ms = 30_000): Promise<any[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  const events: any[] = [];
  try {
    const res = await fetch(url, { headers: { cookie, accept: "text/event-stream" }, signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let k: number;
      while ((k = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, k);
        buffer = buffer.slice(k + 1);
        if (line.startsWith("data: ")) {
          try {
            events.push(JSON.parse(line.slice(6)));
          } catch {
            events.push(line.slice(6));
          }
        }
      }
      if (done(events)) break;
    }
  } catch (error) {
    if ((error as Error).name !== "AbortError") throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe("processes through the API (lab)", () => {
  let server: TestServer;
  let admin: ApiClient;
  let op: ApiClient;
  let viewer: ApiClient;
  let webAddr: string;
  let webGateway: string;
  let siteDir: string;

  const list = async (client = admin): Promise<Proc[]> => client.query("process.list", {});
  const find = async (id: string) => (await list()).find((p) => p.id === id)!;

  beforeAll(async () => {
    requireLab();
    server = await startServer({
      env: { NSLAB_PROCESS_LIMIT: "3", NSLAB_PROCESS_LOG_BYTES: "65536", NSLAB_PROCESS_STOP_GRACE_SECONDS: "2" },
    });
    admin = new ApiClient(server.baseURL);
    await admin.login("admin", server.adminPassword);
    await admin.mutate("user.create", { username: "op", password: "operator-password", role: "operator", runAs: ["nobody"] });
    await admin.mutate("user.create", { username: "viewer", password: "viewer-password", role: "viewer", runAs: ["nobody"] });
    op = new ApiClient(server.baseURL);
    await op.login("op", "operator-password");
    viewer = new ApiClient(server.baseURL);
    await viewer.login("viewer", "viewer-password");

    const web = await op.mutate("sandbox.create", { name: "web", dns: ["192.0.2.53"] });
    webAddr = web.address;
    webGateway = web.hostAddress;
    await admin.mutate("sandbox.create", { name: "other" });

    siteDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-site-"));
    fs.writeFileSync(path.join(siteDir, "hello.txt"), "hello from the sandbox\n");
    fs.chmodSync(siteDir, 0o755);
  });

  afterEach(async () => {
    // A failed test must not leave programs that fill the per-user cap of the next ones.
    for (const p of (await list().catch(() => [])) as Proc[]) {
      if (p.state === "running") await admin.mutate("process.stop", { id: p.id, signal: "KILL" }).catch(() => undefined);
    }
  });

  afterAll(async () => {
    // Leave nothing running in the lab.
    for (const p of (await list().catch(() => [])) as Proc[]) {
      if (p.state === "running") await admin.mutate("process.stop", { id: p.id, signal: "KILL" }).catch(() => undefined);
    }
    await server?.stop();
  });

  it("runs a program as nobody: its own pid, nobody's uid/gid, the sandbox's netns, no capabilities, own session, clean env", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", {
      sandbox: "web",
      argv: ["sleep", "1000"],
      user: "nobody",
      env: { GREETING: "hello world" },
    });
    expect(started.id).toMatch(/^p[0-9a-z]{11}$/);
    const pid = started.pid;
    // The launcher only replaces itself (execve): the pid becomes the program itself (no wrapper left).
    await waitFor("the program to exec", () => cmdline(pid).join(" ") === "sleep 1000");
    const st = status(pid);
    expect(st.Uid!.split(/\s+/).map(Number)).toEqual([NOBODY, NOBODY, NOBODY, NOBODY]);
    expect(st.Gid!.split(/\s+/).map(Number)).toEqual([NOBODY, NOBODY, NOBODY, NOBODY]);
    expect(st.Groups).toBe(String(NOBODY));
    expect(st.CapEff).toBe("0000000000000000");
    expect(st.CapPrm).toBe("0000000000000000");
    expect(st.CapBnd).toBe("0000000000000000");
    expect(st.CapAmb).toBe("0000000000000000");
    expect(st.NoNewPrivs).toBe("1");
    // The sandbox's network namespace: /proc/PID/ns/net is the inode of /run/netns/web.
    const inode = fs.statSync("/run/netns/web").ino;
    expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).toBe(`net:[${inode}]`);
    expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(fs.readlinkSync("/proc/self/ns/net"));
    // Its own session and process group.
    const stat = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))!;
    expect(stat.session).toBe(pid);
    expect(stat.pgrp).toBe(pid);
    // A clean environment plus the one given; nobody's home does not exist, so cwd is /.
    const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean).sort();
    expect(environ).toEqual(
      ["GREETING=hello world", "HOME=/nonexistent", "LOGNAME=nobody", "PATH=/usr/local/bin:/usr/bin:/bin", "SHELL=/usr/sbin/nologin", "USER=nobody"].sort(),
    );
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe("/");
    // stdin is /dev/null, stdout and stderr the files under the data dir.
    expect(fs.readlinkSync(`/proc/${pid}/fd/0`)).toBe("/dev/null");
    expect(fs.readlinkSync(`/proc/${pid}/fd/1`)).toBe(path.join(server.dataDir, "processes", started.id, "stdout"));
    expect(fs.readlinkSync(`/proc/${pid}/fd/2`)).toBe(path.join(server.dataDir, "processes", started.id, "stderr"));

    const listed = await find(started.id);
    expect(listed).toMatchObject({ sandbox: "web", argv: ["sleep", "1000"], user: "nobody", pid, state: "running", startedBy: "op" });
    expect((listed as any).envNames).toEqual(["GREETING"]);
    expect(JSON.stringify(await list(viewer))).not.toContain("hello world");

    const stopped = await op.mutate<Proc>("process.stop", { id: started.id });
    expect(stopped).toMatchObject({ state: "exited", signal: "TERM", exitCode: null });
    expect(alive(pid)).toBe(false);
    expect(await find(started.id)).toMatchObject({ state: "exited", signal: "TERM" });
  });

  it("sees only the sandbox's interfaces and its resolv.conf, and reports the exit code", async () => {
    const started = await op.mutate<{ id: string }>("process.start", {
      sandbox: "web",
      argv: ["sh", "-c", "cat /etc/resolv.conf; ls /sys/class/net; exit 3"],
      user: "nobody",
    });
    const done = await waitFor("the program to end", async () => {
      const p = await find(started.id);
      return p.state === "exited" ? p : null;
    });
    expect(done).toMatchObject({ exitCode: 3, signal: null });
    expect(done.endedAt).toBeTruthy();
    const logs = await op.query("process.logs", { id: started.id });
    expect(logs.stdout).toContain("nameserver 192.0.2.53");
    expect(logs.stdout.split("\n").filter((l: string) => /^[a-z]/.test(l) && !l.startsWith("nameserver")).sort()).toEqual(["eth0", "lo"]);
    expect(logs.truncated).toBe(false);
  });

  it("serves HTTP from a sandbox: reachable, access log in process.logs and live in process.output; stop ends it and its children", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", {
      sandbox: "web",
      argv: ["sh", "-c", "sleep 1000 & exec python3 -m http.server 8000"],
      user: "nobody",
      cwd: siteDir,
      env: { PYTHONUNBUFFERED: "1" },
    });
    const url = `${server.baseURL}/api/trpc/process.output?input=${encodeURIComponent(JSON.stringify({ id: started.id }))}`;
    const live = readSse(url, op.cookie!, (events) => events.some((e) => typeof e?.data === "string" && e.data.includes("GET /hello.txt")));

    // From the lab root to the sandbox's address.
    const body = await waitFor("the HTTP server", async () => {
      const res = await fetch(`http://${webAddr}:8000/hello.txt`);
      return res.ok ? res.text() : null;
    });
    expect(body).toBe("hello from the sandbox\n");

    const events = await live;
    const line = events.find((e) => e?.kind === "output" && e.data.includes("GET /hello.txt"));
    expect(line).toMatchObject({ kind: "output", stream: "stderr" });
    expect(line.data).toContain(webGateway);
    const logs = await waitFor("the access log", async () => {
      const l = await viewer.query("process.logs", { id: started.id });
      return l.stderr.includes('"GET /hello.txt HTTP/1.1" 200') ? l : null;
    });
    expect(logs.stdout).toContain("Serving HTTP on");
    const tail = await op.query("process.logs", { id: started.id, tail: 1 });
    expect(tail.stderr.trim().split("\n")).toHaveLength(1);

    // Its children share its process group; stop ends them all.
    const members = await waitFor("the sleep child", () => {
      const m = groupMembers(started.pid);
      return m.length >= 2 ? m : null;
    });
    const stopped = await op.mutate<Proc>("process.stop", { id: started.id });
    expect(stopped).toMatchObject({ state: "exited", signal: "TERM" });
    for (const pid of members) expect(alive(pid)).toBe(false);
    await expect(fetch(`http://${webAddr}:8000/hello.txt`)).rejects.toThrow();

    // The subscription of an ended program sends what is left, then its exit, then ends.
    const after = await readSse(`${url.slice(0, url.indexOf("?"))}?input=${encodeURIComponent(JSON.stringify({ id: started.id, lastEventId: "0:0" }))}`, op.cookie!, (e) =>
      e.some((x) => x?.kind === "exit"),
    );
    expect(after.filter((e) => e?.kind === "output").map((e) => e.data).join("")).toContain("GET /hello.txt");
    expect(after.find((e) => e?.kind === "exit")).toMatchObject({ kind: "exit", signal: "TERM" });
  });

  it("a python HTTP server in a sandbox, published with port.add, is reachable from the simulated world", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", {
      sandbox: "web",
      argv: ["python3", "-m", "http.server", "8001"],
      user: "nobody",
      cwd: siteDir,
    });
    const port = await op.mutate("port.add", { sandbox: "web", protocol: "tcp", hostPort: 18001, sandboxPort: 8001 });
    try {
      const fromWorld = await waitFor("the published port from the world", async () => {
        const r = await execa("ip", ["netns", "exec", lab.worldNetns, process.execPath, "-e",
          `fetch("http://${lab.uplinkAddr}:18001/hello.txt").then(r=>r.text()).then(t=>process.stdout.write(t),()=>process.exit(1))`], { reject: false });
        return r.exitCode === 0 ? r.stdout : null;
      });
      expect(fromWorld).toBe("hello from the sandbox"); // execa strips the final newline
      await waitFor("the world's request in the access log", async () =>
        (await op.query("process.logs", { id: started.id })).stderr.includes(`${lab.worldAddr} - - `),
      );
    } finally {
      await op.mutate("port.delete", { sandbox: "web", id: port.id });
      await op.mutate("process.stop", { id: started.id });
    }
  });

  it("escalates to KILL when a program ignores TERM", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", {
      sandbox: "web",
      argv: ["python3", "-c", "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(1000)"],
      user: "nobody",
    });
    await waitFor("ready", async () => (await op.query("process.logs", { id: started.id })).stdout.includes("ready"));
    const stopped = await op.mutate<Proc>("process.stop", { id: started.id, signal: "TERM" });
    expect(stopped).toMatchObject({ state: "exited", signal: "KILL" });
    expect(alive(started.pid)).toBe(false);
  });

  it("refuses what a user may not do, and starts nothing", async () => {
    const before = (await list()).length;
    const root = await apiError(() => op.mutate("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "root" }));
    expect(root).toMatchObject({ status: 403, appCode: "FORBIDDEN" });
    expect(root.message).toMatch(/root/);
    const notAllowed = await apiError(() => op.mutate("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "daemon" }));
    expect(notAllowed).toMatchObject({ appCode: "FORBIDDEN" });
    expect(notAllowed.message).toMatch(/daemon/);
    const notOwner = await apiError(() => op.mutate("process.start", { sandbox: "other", argv: ["sleep", "1000"], user: "nobody" }));
    expect(notOwner).toMatchObject({ appCode: "FORBIDDEN" });
    const asViewer = await apiError(() => viewer.mutate("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" }));
    expect(asViewer).toMatchObject({ appCode: "FORBIDDEN" });
    const noSandbox = await apiError(() => admin.mutate("process.start", { sandbox: "nope", argv: ["sleep", "1000"], user: "nobody" }));
    expect(noSandbox).toMatchObject({ appCode: "NOT_FOUND" });
    expect((await list()).length).toBe(before);
    expect(execaSleepers()).toEqual([]);

    // Refusals are audited with the sandbox.
    const audit = await admin.query("audit.list", { sandbox: "web" });
    expect(audit.some((a: any) => a.action === "process.start" && a.result === "error" && a.user === "op")).toBe(true);

    // An admin may run as root in any sandbox (root keeps its capabilities).
    const asRoot = await admin.mutate<{ id: string; pid: number }>("process.start", { sandbox: "other", argv: ["sleep", "1001"], user: "root" });
    await waitFor("exec", () => cmdline(asRoot.pid).join(" ") === "sleep 1001");
    expect(status(asRoot.pid).Uid!.split(/\s+/)[0]).toBe("0");
    expect(status(asRoot.pid).CapEff).not.toBe("0000000000000000");
    // An operator may not stop a program in a sandbox it does not own that it did not start.
    expect(await apiError(() => op.mutate("process.stop", { id: asRoot.id }))).toMatchObject({ appCode: "FORBIDDEN" });
    expect(alive(asRoot.pid)).toBe(true);
    expect(await apiError(() => viewer.mutate("process.stop", { id: asRoot.id }))).toMatchObject({ appCode: "FORBIDDEN" });
    await admin.mutate("process.stop", { id: asRoot.id, signal: "KILL" });
    expect(await find(asRoot.id)).toMatchObject({ state: "exited", signal: "KILL" });
  });

  function execaSleepers(): number[] {
    return fs
      .readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .filter((e) => {
        try {
          return cmdline(Number(e)).join(" ") === "sleep 1000";
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  it("refuses bad input with errors naming the field, and starts nothing", async () => {
    const before = (await list()).length;
    const base = { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" };
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...base, argv: [] }, "argv", /empty/],
      [{ ...base, argv: ["sleep", "1\u0000000"] }, "argv.1", /NUL/],
      [{ ...base, cwd: "relative/dir" }, "cwd", /absolute/],
      [{ ...base, cwd: "/does/not/exist" }, "cwd", /does not exist/],
      [{ ...base, env: { "1X": "a" } }, "env.1X", /not a valid variable name/],
      [{ ...base, env: { "A-B": "a" } }, "env.A-B", /not a valid variable name/],
    ];
    for (const [input, field, message] of cases) {
      const error = await apiError(() => op.mutate("process.start", input));
      expect(error.appCode, JSON.stringify(input)).toBe("INPUT_INVALID");
      expect(error.status).toBe(400);
      expect(error.fieldErrors?.[field]?.join(" "), `${field} of ${JSON.stringify(input)}`).toMatch(message);
      expect(error.message).toContain(field);
    }
    const unknown = await apiError(() => admin.mutate("process.start", { ...base, user: "nosuchuser" }));
    expect(unknown).toMatchObject({ appCode: "INPUT_INVALID" });
    expect(unknown.fieldErrors?.user?.[0]).toMatch(/nosuchuser/);
    expect(unknown.message).toMatch(/nosuchuser/);
    expect((await list()).length).toBe(before);
    expect(execaSleepers()).toEqual([]);
  });

  it("caps running programs per user (LIMIT)", async () => {
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) {
      ids.push((await op.mutate<{ id: string }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" })).id);
    }
    const error = await apiError(() => op.mutate("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" }));
    expect(error).toMatchObject({ status: 429, appCode: "LIMIT" });
    // Another user's cap is separate.
    const other = await admin.mutate<{ id: string }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    for (const id of [...ids, other.id]) await admin.mutate("process.stop", { id, signal: "KILL" });
    expect(execaSleepers()).toEqual([]);
  });

  it("keeps only the newest output, says so, and frees the older part while the program runs", async () => {
    const started = await op.mutate<{ id: string }>("process.start", {
      sandbox: "web",
      argv: ["python3", "-c", "import sys,time\nfor i in range(30000): print('line %06d' % i)\nsys.stdout.flush(); time.sleep(1000)"],
      user: "nobody",
    });
    const file = path.join(server.dataDir, "processes", started.id, "stdout");
    await waitFor("all output", () => fs.statSync(file).size === 30000 * 12);
    // The console punches the head out: the size stays, the blocks go.
    await waitFor("the head to be freed", () => fs.statSync(file).blocks * 512 <= 65536 + 65536 + 4096);
    const logs = await op.query("process.logs", { id: started.id });
    expect(logs.truncated).toBe(true);
    expect(logs.truncatedStreams).toEqual({ stdout: true, stderr: false });
    expect(Buffer.byteLength(logs.stdout)).toBeLessThanOrEqual(65536);
    expect(logs.stdout.endsWith("line 029999\n")).toBe(true);
    expect(logs.stdout).not.toContain("line 000000");
    expect(logs.stdout).not.toContain("\u0000");
    await op.mutate("process.stop", { id: started.id, signal: "KILL" });
  });

  it("audits every start and stop with its sandbox", async () => {
    const audit = await admin.query("audit.list", { sandbox: "web", limit: 500 });
    const actions = new Set(audit.map((a: any) => a.action));
    expect(actions.has("process.start")).toBe(true);
    expect(actions.has("process.stop")).toBe(true);
    const withEnv = audit.find((a: any) => a.action === "process.start" && a.input?.env?.GREETING);
    expect(withEnv.input.env.GREETING).toBe("[redacted]");
  });

  it("sandbox.delete stops the sandbox's programs and their children first", async () => {
    await op.mutate("sandbox.create", { name: "short-lived" });
    const a = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "short-lived", argv: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], user: "nobody" });
    const b = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "short-lived", argv: ["sleep", "1000"], user: "nobody" });
    const keep = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    const children = await waitFor("the children", () => {
      const m = groupMembers(a.pid);
      return m.length >= 3 ? m : null;
    });
    await op.mutate("sandbox.delete", { name: "short-lived" });
    for (const pid of [...children, b.pid]) expect(alive(pid)).toBe(false);
    expect(fs.existsSync("/run/netns/short-lived")).toBe(false);
    expect(await find(a.id)).toMatchObject({ state: "exited", signal: "TERM" });
    expect(await find(b.id)).toMatchObject({ state: "exited", signal: "TERM" });
    expect(await find(keep.id)).toMatchObject({ state: "running" });
    await op.mutate("process.stop", { id: keep.id });
    // A deleted sandbox runs nothing.
    expect(await apiError(() => op.mutate("process.start", { sandbox: "short-lived", argv: ["sleep", "1"], user: "nobody" }))).toMatchObject({ appCode: "NOT_FOUND" });
  });

  it("survives a console restart: still running with the same pid, and stop still works", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    await waitFor("exec", () => cmdline(started.pid).join(" ") === "sleep 1000");
    await server.restart();
    expect(alive(started.pid)).toBe(true);
    expect(await find(started.id)).toMatchObject({ state: "running", pid: started.pid });
    const stopped = await op.mutate<Proc>("process.stop", { id: started.id });
    expect(stopped).toMatchObject({ state: "exited", signal: "TERM", exitCode: null });
    expect(alive(started.pid)).toBe(false);
  });

  it("after a crash, marks programs that ended meanwhile exited (status unknown) and watches the others", async () => {
    const a = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    const b = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    await waitFor("exec", () => cmdline(a.pid).join(" ") === "sleep 1000" && cmdline(b.pid).join(" ") === "sleep 1000");
    await server.kill9();
    process.kill(a.pid, "SIGKILL");
    await waitFor("a to be gone", () => !alive(a.pid));
    await server.restart();
    expect(await find(a.id)).toMatchObject({ state: "exited", exitCode: null, signal: null });
    expect(await find(b.id)).toMatchObject({ state: "running", pid: b.pid });
    // b ends on its own later: the restarted console notices.
    process.kill(b.pid, "SIGTERM");
    const ended = await waitFor("b to be marked exited", async () => {
      const p = await find(b.id);
      return p.state === "exited" ? p : null;
    });
    expect(ended).toMatchObject({ exitCode: null, signal: null });
  });

  it("a reused pid is never taken for the program", async () => {
    const started = await op.mutate<{ id: string; pid: number }>("process.start", { sandbox: "web", argv: ["sleep", "1000"], user: "nobody" });
    await server.kill9();
    // Pretend the pid was reused: record another start time for it.
    const store = openStore(server.dataDir);
    store.update(processes).set({ pidStartTime: "1" }).where(eq(processes.id, started.id)).run();
    store.$client.close();
    await server.restart();
    expect(await find(started.id)).toMatchObject({ state: "exited", exitCode: null });
    // ... and the real process is never signalled through that row.
    await admin.mutate("process.stop", { id: started.id });
    expect(alive(started.pid)).toBe(true);
    process.kill(started.pid, "SIGKILL");
  });
});

describe("stopProcessesOfSandbox (lab, service level)", () => {
  it("stops every running program of the sandbox and leaves the others", async () => {
    requireLab();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-proc-"));
    const config = loadConfig({ NSLAB_DATA_DIR: dataDir, NSLAB_PROCESS_STOP_GRACE_SECONDS: "2" } as unknown as NodeJS.ProcessEnv);
    const store = openStore(dataDir);
    const app: App = { config, store, events: new EventBus(), signInLimiter: new SignInLimiter(), runner: new ExecaRunner(), ready: Promise.resolve() };
    for (const name of ["gone", "stays"]) {
      await execa("ip", ["netns", "add", name]);
      store.insert(sandboxes).values({ id: `s${name}`.padEnd(10, "0"), name, owner: "admin", mode: "isolated", nat: false, state: "ready", createdAt: new Date().toISOString() }).run();
    }
    const adminUser = { username: "admin", role: "admin" as const, runAs: [] };
    const start = (sandbox: string) => {
      const input = startInputSchema.parse({ sandbox, argv: ["sleep", "1000"], user: "nobody" });
      return launchPrepared(app, store.transaction((tx) => prepareStart(tx, app, adminUser, input)), "admin");
    };
    const g1 = start("gone");
    const g2 = start("gone");
    const s1 = start("stays");
    await stopProcessesOfSandbox(app, "gone");
    expect(alive(g1.pid)).toBe(false);
    expect(alive(g2.pid)).toBe(false);
    expect(alive(s1.pid)).toBe(true);
    const rows = store.select().from(processes).all();
    expect(rows.filter((r) => r.sandbox === "gone").map((r) => [r.state, r.signal])).toEqual([
      ["exited", "TERM"],
      ["exited", "TERM"],
    ]);
    expect(rows.find((r) => r.id === s1.id)?.state).toBe("running");
    await stopProcessesOfSandbox(app, "stays");
    expect(alive(s1.pid)).toBe(false);

    // A program whose sandbox row is gone (a start that raced a delete) is stopped by the next pass.
    const orphan = start("stays");
    store.delete(sandboxes).where(eq(sandboxes.name, "stays")).run();
    await waitFor("the orphan to be stopped", () => store.select().from(processes).where(eq(processes.id, orphan.id)).get()?.state === "exited");
    expect(alive(orphan.pid)).toBe(false);
    store.$client.close();
  });
});
