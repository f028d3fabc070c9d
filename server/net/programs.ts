import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import type { Runner } from "./runner";

/**
 * The program launcher: starts user programs inside a sandbox's network namespace and
 * signals them. Like every other door to the host it lives in server/net/.
 *
 * A program is started as one chain of execve calls, never a shell and never a fork, so the
 * pid the console gets back from the spawn is the program's own pid:
 *
 *   ip netns exec NAME                 joins the namespace, binds /etc/netns/NAME/* over
 *                                      /etc/* (resolv.conf) in a private mount namespace
 *   setpriv --reuid=U --regid=G        becomes the user with that user's groups,
 *     --init-groups --nnp               sets no_new_privs and, unless U is root,
 *     --inh-caps=-all --bounding-set=-all drops every capability (effective and permitted
 *                                      go with the uid change; inheritable, ambient and the
 *                                      bounding set are cleared here)
 *   env -i --chdir=CWD -- K=V... --    a clean environment (HOME USER LOGNAME SHELL PATH
 *                                      plus the caller's env) and the working directory,
 *                                      both applied only after the user switch, so `env`
 *                                      values (LD_PRELOAD...) never reach a root process
 *   argv...                            the program, looked up in the new PATH
 *
 * The spawn is `detached` (setsid: the program leads its own session and process group,
 * pgid = sid = pid) with stdin from /dev/null and stdout/stderr written straight to files
 * (no pipe to the console), so the console can stop or crash without the program noticing.
 */

/** One account of /etc/passwd. */
export interface LinuxUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parses passwd(5) text: `name:x:uid:gid:gecos:home:shell` lines; malformed lines are skipped. */
export function parsePasswd(text: string): Map<string, LinuxUser> {
  const users = new Map<string, LinuxUser>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    if (!users.has(f[0]!)) users.set(f[0]!, { name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! });
  }
  return users;
}

/** The local account `name` (from /etc/passwd, no NSS), or null when there is none. */
export function lookupLinuxUser(name: string, passwdPath = "/etc/passwd"): LinuxUser | null {
  return parsePasswd(fs.readFileSync(/*turbopackIgnore: true*/ passwdPath, "utf8")).get(name) ?? null;
}

/** What to run: everything already validated and resolved by the caller. */
export interface LaunchSpec {
  /** The network namespace (the sandbox's name). */
  netns: string;
  user: LinuxUser;
  argv: readonly string[];
  /** Absolute working directory. */
  cwd: string;
  /** Extra environment; overrides the defaults. */
  env: Readonly<Record<string, string>>;
}

/** The environment `ip` and `setpriv` run with (root): fixed, never the caller's. */
export const LAUNCHER_ENV: Readonly<Record<string, string>> = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** The program's environment: login-like defaults (as `setpriv --reset-env`), then `env`. */
export function programEnv(user: LinuxUser, env: Readonly<Record<string, string>>): Record<string, string> {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell || "/bin/sh",
    PATH: user.uid === 0 ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" : "/usr/local/bin:/usr/bin:/bin",
    ...env,
  };
}

/** The full argv that starts a program (see the module comment); pure, golden-tested. */
export function launchArgv(spec: LaunchSpec): string[] {
  const { user } = spec;
  const identity = [`--reuid=${user.name}`, `--regid=${user.gid}`, "--init-groups", "--nnp"];
  const caps = user.uid === 0 ? [] : ["--inh-caps=-all", "--bounding-set=-all"];
  const env = Object.entries(programEnv(user, spec.env)).map(([k, v]) => `${k}=${v}`);
  return [
    "ip", "netns", "exec", spec.netns,
    "setpriv", ...identity, ...caps, "--",
    "env", "-i", `--chdir=${spec.cwd}`, "--", ...env,
    ...spec.argv,
  ];
}

/** How a program ended: an exit code, or the signal (without "SIG") that killed it. */
export interface ProgramExit {
  exitCode: number | null;
  signal: string | null;
}

export interface Launched {
  pid: number;
  /** /proc/PID/stat starttime, or null when the program was already gone when read. */
  startTime: string | null;
  /** Settles when the program ends (the console is its parent while it lives). */
  exit: Promise<ProgramExit>;
}

/**
 * Starts a program detached, its output appended to the two files. Throws when the
 * launcher itself cannot be spawned; a program that cannot be found exits 127 with
 * `env`'s message on stderr, as in a shell.
 */
export function launchProgram(spec: LaunchSpec, files: { stdout: string; stderr: string }): Launched {
  const argv = launchArgv(spec);
  const out = fs.openSync(/*turbopackIgnore: true*/ files.stdout, "a", 0o600);
  let err: number | undefined;
  try {
    err = fs.openSync(/*turbopackIgnore: true*/ files.stderr, "a", 0o600);
    const child = execa(argv[0]!, argv.slice(1), {
      shell: false,
      detached: true,
      cleanup: false,
      stdin: "ignore",
      // An fd number goes straight to spawn(): the child writes to the file itself (execa's
      // types list only 3-9 as fds, its code passes any number through as a native fd).
      stdout: out as 3,
      stderr: err as 3,
      env: { ...LAUNCHER_ENV },
      extendEnv: false,
      cwd: "/",
      reject: false,
    });
    const pid = child.pid;
    if (pid === undefined) {
      child.catch(() => undefined);
      throw new Error(`could not spawn ${argv[0]}`);
    }
    const startTime = procStat(pid)?.startTime ?? null;
    const exit = child.then(
      (result) => ({
        exitCode: result.signal ? null : (result.exitCode ?? null),
        signal: result.signal ? result.signal.replace(/^SIG/, "") : null,
      }),
      () => ({ exitCode: null, signal: null }),
    );
    // The console's event loop need not wait for programs; it still hears their exit.
    child.unref();
    return { pid, startTime, exit };
  } finally {
    fs.closeSync(out);
    if (err !== undefined) fs.closeSync(err);
  }
}

/** The fields of /proc/PID/stat nslab uses. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Field 22: start time in clock ticks since boot; with the pid it names one process. */
  startTime: string;
}

/** Parses /proc/PID/stat text; the command (field 2) may hold spaces and ")", so split after the last ")". */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest.length < 20 || !Number.isInteger(pid)) return null;
  return {
    pid,
    state: rest[0]!,
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    session: Number(rest[3]),
    startTime: rest[19]!,
  };
}

/** /proc/PID/stat of a process, or null when there is none. */
export function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(fs.readFileSync(/*turbopackIgnore: true*/ `/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/**
 * True when `pid` is still the process that started at `startTime` and has not ended
 * (a zombie has ended). A reused pid has another start time, so it is never mistaken.
 */
export function isRunning(pid: number, startTime: string | null): boolean {
  const stat = procStat(pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return startTime === null || stat.startTime === startTime;
}

/** A process named by pid and start time. */
export interface ProcRef {
  pid: number;
  startTime: string;
  /** Its process group when seen, if known. */
  pgrp?: number;
}

/**
 * Every live process in the program's process group or session: the program and its
 * children, also those that made a process group of their own. (A child that called
 * setsid() itself has left; only a cgroup would keep it.)
 */
export function membersOf(leader: number): ProcRef[] {
  const members: ProcRef[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat || stat.state === "Z" || stat.state === "X") continue;
    if (stat.pgrp === leader || stat.session === leader) members.push({ pid: stat.pid, startTime: stat.startTime, pgrp: stat.pgrp });
  }
  return members;
}

export type StopSignal = "TERM" | "KILL" | "INT";

/**
 * Sends `signal` to a program: to its whole process group (pgid = its pid, a session
 * leader cannot change it) while the leader is verifiably the program, and to each of
 * `known` plus the group's and session's current members, each checked by start time
 * first, so a reused pid is never signalled. Returns every process it aimed at, for the
 * escalation to KILL.
 */
export function signalProgram(leader: ProcRef | { pid: number; startTime: null }, known: readonly ProcRef[], signal: StopSignal): ProcRef[] {
  const targets = new Map<number, ProcRef>();
  for (const ref of known) targets.set(ref.pid, ref);
  const leaderAlive = isRunning(leader.pid, leader.startTime);
  if (leaderAlive) {
    for (const ref of membersOf(leader.pid)) targets.set(ref.pid, ref);
    try {
      process.kill(-leader.pid, `SIG${signal}`);
    } catch {
      // the group is gone
    }
  }
  for (const ref of targets.values()) {
    // Members of the group already got it from the group kill.
    if (leaderAlive && ref.pgrp === leader.pid) continue;
    if (!isRunning(ref.pid, ref.startTime)) continue;
    try {
      process.kill(ref.pid, `SIG${signal}`);
    } catch {
      // gone in between
    }
  }
  return [...targets.values()];
}

/** True when any of `refs` still runs. */
export function anyRunning(refs: readonly ProcRef[]): boolean {
  return refs.some((ref) => isRunning(ref.pid, ref.startTime));
}

/**
 * Frees the disk blocks of the first `length` bytes of a log file (the size and offsets
 * stay, reads of that range give zeros): the program keeps appending to the same open
 * file while the console keeps only the newest part.
 */
export async function punchHead(runner: Runner, file: string, length: number): Promise<void> {
  await runner.run({ argv: ["fallocate", "--punch-hole", "--offset", "0", "--length", String(length), file] });
}

/** True when the named network namespace exists (`ip netns` keeps it at /run/netns/NAME). */
export function netnsExists(name: string): boolean {
  return fs.existsSync(/*turbopackIgnore: true*/ path.join("/run/netns", name));
}
