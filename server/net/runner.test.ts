import { describe, expect, it } from "vitest";
import { assertArgv, CommandError, ExecaRunner, FakeRunner } from "./runner";

/** A harmless real command: this very Node running a small script. */
const node = (script: string, ...args: string[]) => [process.execPath, "-e", script, ...args];

describe("ExecaRunner (real processes)", () => {
  it("passes each argv element as exactly one argument, never through a shell", async () => {
    const runner = new ExecaRunner();
    const tricky = ["two words", "a;echo pwned", "$(id)", "`id`", "*", "'quoted'", "x > /tmp/nslab-runner-test", ""];
    const { stdout } = await runner.run({ argv: node("process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...tricky) });
    expect(JSON.parse(stdout)).toEqual(tricky);
  });

  it("feeds input to standard input and returns stdout and stderr", async () => {
    const runner = new ExecaRunner();
    const result = await runner.run({
      argv: node("let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase());process.stderr.write('note')})"),
      input: "flush table\n",
    });
    expect(result).toEqual({ stdout: "FLUSH TABLE\n", stderr: "note" });
  });

  it("rejects a failing command with a CommandError carrying its argv, exit code, stdout and stderr", async () => {
    const runner = new ExecaRunner();
    const argv = node("process.stdout.write('partial');process.stderr.write('RTNETLINK answers: File exists');process.exit(2)");
    const error = await runner.run({ argv }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandError);
    const ce = error as CommandError;
    expect(ce.argv).toEqual(argv);
    expect(ce.exitCode).toBe(2);
    expect(ce.stderr).toBe("RTNETLINK answers: File exists");
    expect(ce.stdout).toBe("partial");
    expect(ce.timedOut).toBe(false);
    expect(ce.message).toContain("exited with 2");
    expect(ce.message).toContain("RTNETLINK answers: File exists");
  });

  it("rejects a command that cannot start", async () => {
    const runner = new ExecaRunner();
    const error = (await runner.run({ argv: ["/nonexistent/nslab-no-such-binary"] }).catch((e: unknown) => e)) as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.exitCode).toBeUndefined();
    expect(error.message).toMatch(/could not start|ENOENT/);
  });

  it("kills a command that runs past its timeout", async () => {
    const runner = new ExecaRunner();
    // The child writes its pid, then would sleep for a minute.
    const argv = node("process.stdout.write(String(process.pid));setTimeout(()=>{},60000)");
    const error = (await runner.run({ argv, timeoutMs: 300 }).catch((e: unknown) => e)) as CommandError;
    expect(error).toBeInstanceOf(CommandError);
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain("timed out");
    const pid = Number(error.stdout);
    expect(pid).toBeGreaterThan(0);
    // The process is gone: signal 0 to it fails with ESRCH.
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
  });

  it("runs commands one at a time, in the order they were issued, even when issued together", async () => {
    const runner = new ExecaRunner();
    const events: string[] = [];
    // Each command reports start and end; a later one sleeps less, so without the
    // queue it would finish (and start) while an earlier one still runs.
    const job = (name: string, sleepMs: number) =>
      runner
        .run({ argv: node(`process.stdout.write("${name}");setTimeout(()=>{},${sleepMs})`) })
        .then((r) => events.push(`end ${r.stdout}`));
    const started: Promise<unknown>[] = [];
    for (const [name, ms] of [["a", 300], ["b", 150], ["c", 0], ["d", 50]] as const) started.push(job(name, ms));
    await Promise.all(started);
    expect(events).toEqual(["end a", "end b", "end c", "end d"]);
  });

  it("never overlaps two commands (a lock file that a second process would find held)", async () => {
    const runner = new ExecaRunner();
    const lock = `${process.env.TMPDIR ?? "/tmp"}/nslab-runner-test-${process.pid}.lock`;
    // Each command takes the lock with O_EXCL, holds it briefly, releases it; an overlap fails.
    const script = `const fs=require("fs");const f=process.argv[1];fs.writeFileSync(f,"",{flag:"wx"});setTimeout(()=>fs.unlinkSync(f),40)`;
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => runner.run({ argv: node(script, lock) })));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill("fulfilled"));
  });

  it("goes on with the queue after a failure", async () => {
    const runner = new ExecaRunner();
    const failing = runner.run({ argv: node("process.exit(3)") });
    const next = runner.run({ argv: node("process.stdout.write('still here')") });
    await expect(failing).rejects.toBeInstanceOf(CommandError);
    await expect(next).resolves.toMatchObject({ stdout: "still here" });
  });

  it("refuses an argv holding a NUL byte before running anything", async () => {
    const runner = new ExecaRunner();
    expect(() => runner.run({ argv: node("process.exit(0)", "a\0b") })).toThrow(/NUL/);
  });
});

describe("assertArgv", () => {
  it("refuses an empty argv, non-strings and NUL bytes", () => {
    expect(() => assertArgv([])).toThrow(/empty/);
    expect(() => assertArgv(["ip", 7 as unknown as string])).toThrow(/non-string/);
    expect(() => assertArgv(["ip", "link\0"])).toThrow(/NUL/);
    expect(() => assertArgv(["ip", "link", "show", "with space"])).not.toThrow();
  });
});

describe("FakeRunner", () => {
  it("runs nothing, logs every command in order and answers empty success by default", async () => {
    const runner = new FakeRunner();
    await runner.run({ argv: ["ip", "netns", "add", "blue"] });
    await runner.run({ argv: ["iptables-restore", "--noflush", "--wait"], input: "*filter\nCOMMIT\n" });
    expect(runner.log).toEqual([
      { argv: ["ip", "netns", "add", "blue"] },
      { argv: ["iptables-restore", "--noflush", "--wait"], input: "*filter\nCOMMIT\n" },
    ]);
  });

  it("answers from respond(), including failures", async () => {
    const failure = new CommandError(["ip", "link", "add"], 2, "", "RTNETLINK answers: File exists", false);
    const runner = new FakeRunner((command, index) => {
      if (index === 1) return failure;
      return { stdout: `out of ${command.argv[0]}`, stderr: "" };
    });
    await expect(runner.run({ argv: ["ip", "-j", "link"] })).resolves.toEqual({ stdout: "out of ip", stderr: "" });
    await expect(runner.run({ argv: ["ip", "link", "add"] })).rejects.toBe(failure);
    expect(runner.log).toHaveLength(2);
  });

  it("checks argv like the real runner", async () => {
    const runner = new FakeRunner();
    await expect(runner.run({ argv: ["ip", "bad\0"] })).rejects.toThrow(/NUL/);
    expect(runner.log).toHaveLength(0);
  });
});
