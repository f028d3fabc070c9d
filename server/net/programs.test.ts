import { describe, expect, it } from "vitest";
import { launchArgv, parsePasswd, parseProcStat, programEnv, type LinuxUser } from "./programs";

const nobody: LinuxUser = { name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent", shell: "/usr/sbin/nologin" };
const root: LinuxUser = { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/bash" };

describe("launchArgv", () => {
  it("runs an unprivileged user's program through ip netns exec, setpriv and env -i (golden)", () => {
    const argv = launchArgv({
      netns: "web-1",
      user: nobody,
      argv: ["python3", "-m", "http.server", "8000"],
      cwd: "/tmp",
      env: { GREETING: "hello world", PATH: "/opt/bin:/usr/bin" },
    });
    expect(argv).toEqual([
      "ip", "netns", "exec", "web-1",
      "setpriv", "--reuid=nobody", "--regid=65534", "--init-groups", "--nnp", "--inh-caps=-all", "--bounding-set=-all", "--",
      "env", "-i", "--chdir=/tmp", "--",
      "HOME=/nonexistent", "USER=nobody", "LOGNAME=nobody", "SHELL=/usr/sbin/nologin", "PATH=/opt/bin:/usr/bin", "GREETING=hello world",
      "python3", "-m", "http.server", "8000",
    ]);
  });

  it("keeps root's capabilities but still sets no_new_privs (golden)", () => {
    expect(launchArgv({ netns: "a", user: root, argv: ["id"], cwd: "/root", env: {} })).toEqual([
      "ip", "netns", "exec", "a",
      "setpriv", "--reuid=root", "--regid=0", "--init-groups", "--nnp", "--",
      "env", "-i", "--chdir=/root", "--",
      "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "id",
    ]);
  });

  it("passes arguments that look like options or assignments after the program untouched", () => {
    const argv = launchArgv({ netns: "a", user: nobody, argv: ["echo", "--", "-i", "X=1", "; rm -rf /"], cwd: "/", env: {} });
    expect(argv.slice(-5)).toEqual(["echo", "--", "-i", "X=1", "; rm -rf /"]);
  });

  it("lets the caller's env override the defaults", () => {
    expect(programEnv(nobody, { HOME: "/tmp" }).HOME).toBe("/tmp");
    expect(programEnv({ ...nobody, shell: "" }, {}).SHELL).toBe("/bin/sh");
  });
});

describe("parsePasswd", () => {
  it("reads accounts and skips malformed lines", () => {
    const users = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken:x:abc:0::/:/bin/sh\nshort:x:1\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    );
    expect([...users.keys()]).toEqual(["root", "nobody"]);
    expect(users.get("nobody")).toEqual(nobody);
  });
});

describe("parseProcStat", () => {
  it("takes field 22 as the start time even when the command holds spaces and parentheses", () => {
    const fields = Array.from({ length: 50 }, (_, k) => String(k + 3));
    fields[0] = "S"; // field 3
    fields[1] = "1"; // ppid
    fields[2] = "4242"; // pgrp
    fields[3] = "4242"; // session
    fields[19] = "987654"; // field 22
    const stat = parseProcStat(`4242 (evil) name (x)) ${fields.join(" ")}\n`);
    expect(stat).toEqual({ pid: 4242, state: "S", ppid: 1, pgrp: 4242, session: 4242, startTime: "987654" });
  });

  it("reads this very process", async () => {
    const fs = await import("node:fs");
    const stat = parseProcStat(fs.readFileSync("/proc/self/stat", "utf8"));
    expect(stat?.pid).toBe(process.pid);
    expect(stat?.startTime).toMatch(/^\d+$/);
  });

  it("refuses text that is not a stat line", () => {
    expect(parseProcStat("")).toBeNull();
    expect(parseProcStat("12 (x) S 1")).toBeNull();
  });
});
