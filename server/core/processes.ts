import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import { and, asc, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { App } from "../app";
import { AppError } from "../errors";
import { writeAudit } from "./audit";
import { linuxUserSchema, type UserView } from "./users";
import { processes, sandboxes } from "../store/schema";
import type { Db } from "../store/db";
import {
  anyRunning,
  isRunning,
  launchProgram,
  lookupLinuxUser,
  netnsExists,
  procStat,
  punchHead,
  signalProgram,
  type Launched,
  type ProcRef,
  type ProgramExit,
  type StopSignal,
} from "../net/programs";
import { log } from "../log";

/**
 * Programs inside sandboxes (API.md "Processes").
 *
 * Lifecycle, and how the exit status survives a console restart
 * -------------------------------------------------------------
 * The launcher (server/net/programs.ts) starts each program detached: its own session
 * and process group, stdout/stderr going straight to files, no pipe to the console. The
 * pid it returns is the program's own (each launcher in the chain replaces itself with execve).
 *
 * - While the console that started a program lives, it is the program's parent and
 *   learns the real exit code or killing signal from the spawn's promise.
 * - A console is never a parent across a restart, and a non-parent cannot read another
 *   process's exit status. We chose not to put a waiting supervisor process between the
 *   console and the program (it would either change the pid the API promises or add a
 *   process per program that must itself be found again). So at start-up the console
 *   finds each program that the store says is running by pid plus /proc/PID/stat
 *   starttime (field 22; a reused pid has another start time and is never mistaken),
 *   watches it by polling /proc, and when it ends records `exited` with
 *   `exitCode: null` (unknown) and `signal: null`, or, when process.stop ended it, the
 *   signal stop sent last. `endedAt` is when the console noticed. Programs that ended
 *   while no console ran are marked exited at start-up with `endedAt` = that moment.
 *
 * Output is kept in <dataDir>/processes/<id>/{stdout,stderr}, opened O_APPEND. The
 * newest NSLAB_PROCESS_LOG_BYTES of each are kept: while a program runs, the console
 * frees the older head of the file every few seconds with `fallocate --punch-hole`
 * (the program keeps writing to the same open file; offsets never move), and readers
 * read only the last NSLAB_PROCESS_LOG_BYTES. `process.logs` says `truncated` when
 * older output was cut. While no console runs, nothing is cut.
 */

// ---------------------------------------------------------------------------------
// Input schemas

/** A sandbox name (API.md): also its network namespace's name. */
export const sandboxNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "must start with a-z and hold only a-z, 0-9 and - (at most 31)");

const noNul = (s: string) => !s.includes("\0");
const ARG_MAX_TOTAL = 256 * 1024;

const argSchema = z.string().max(65536, "is longer than 65536 characters").refine(noNul, "must not contain a NUL byte");

export const argvSchema = z
  .array(argSchema)
  .min(1, "must not be empty: argv[0] names the program to run")
  .max(1024, "holds more than 1024 arguments")
  .superRefine((argv, ctx) => {
    const program = argv[0];
    if (program === undefined) return;
    if (program === "") ctx.addIssue({ code: "custom", path: [0], message: "must name a program, not be empty" });
    else if (program.startsWith("-")) ctx.addIssue({ code: "custom", path: [0], message: "a program name must not start with -" });
    else if (program.includes("=")) ctx.addIssue({ code: "custom", path: [0], message: "a program name must not contain =" });
    if (argv.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0) > ARG_MAX_TOTAL) {
      ctx.addIssue({ code: "custom", message: `is larger than ${ARG_MAX_TOTAL} bytes in all` });
    }
  });

export const cwdSchema = z
  .string()
  .max(4096, "is longer than 4096 characters")
  .refine(noNul, "must not contain a NUL byte")
  .refine((s) => s.startsWith("/"), "must be an absolute path (start with /)");

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const envValueSchema = z.string().max(65536, "is longer than 65536 characters").refine(noNul, "must not contain a NUL byte");

/** Environment for the program: names are identifiers (checked here, so the message names the key). */
export const envSchema = z.record(z.string(), envValueSchema).superRefine((env, ctx) => {
  const names = Object.keys(env);
  if (names.length > 256) ctx.addIssue({ code: "custom", message: "holds more than 256 variables" });
  for (const name of names) {
    if (!ENV_NAME.test(name)) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `${JSON.stringify(name)} is not a valid variable name: use A-Z, a-z, 0-9 and _, not starting with a digit (at most 128)`,
      });
    }
  }
});

export const startInputSchema = z.strictObject({
  sandbox: sandboxNameSchema,
  argv: argvSchema,
  user: linuxUserSchema,
  cwd: cwdSchema.optional(),
  env: envSchema.optional(),
});
export type StartInput = z.infer<typeof startInputSchema>;

export const processIdSchema = z.string().regex(/^p[0-9a-z]{11}$/, "is not a process id");
export const stopInputSchema = z.strictObject({
  id: processIdSchema,
  signal: z.enum(["TERM", "KILL", "INT"]).optional(),
});
export const listInputSchema = z.strictObject({ sandbox: sandboxNameSchema.optional() }).optional();
export const logsInputSchema = z.strictObject({
  id: processIdSchema,
  /** The last `tail` lines of each stream; all that is kept when omitted. */
  tail: z.number().int().min(1).max(100000).optional(),
});
export const outputInputSchema = z.strictObject({
  id: processIdSchema,
  /**
   * Where to go on from: a cursor from `process.logs` or the id of the last event seen
   * (tRPC's SSE link sends it on reconnect). Omitted: from the current end.
   */
  lastEventId: z.string().regex(/^\d{1,15}:\d{1,15}$/, "must be a cursor like 120:0").optional(),
});

// ---------------------------------------------------------------------------------
// Views

type Row = typeof processes.$inferSelect;

export interface ProcessView {
  id: string;
  sandbox: string;
  argv: string[];
  user: string;
  cwd: string | null;
  /** Names of the variables given (values are never shown). */
  envNames: string[];
  pid: number | null;
  state: "running" | "exited";
  /** Exited only: the exit code; null when a signal ended it or it is unknown (ended while not the console's child). */
  exitCode?: number | null;
  /** Exited only: the signal that ended it (TERM, KILL...), else null. */
  signal?: string | null;
  startedAt: string;
  endedAt?: string;
  startedBy: string;
}

function view(row: Row): ProcessView {
  const out: ProcessView = {
    id: row.id,
    sandbox: row.sandbox,
    argv: row.argv,
    user: row.user,
    cwd: row.cwd,
    envNames: Object.keys(row.env ?? {}),
    pid: row.pid,
    state: row.state,
    startedAt: row.startedAt,
    startedBy: row.startedBy,
  };
  if (row.state === "exited") {
    out.exitCode = row.exitCode;
    out.signal = row.signal;
    if (row.endedAt) out.endedAt = row.endedAt;
  }
  return out;
}

/** The input as the audit log keeps it: env values are never written down. */
export function auditInputOf(input: StartInput): unknown {
  return {
    ...input,
    ...(input.env ? { env: Object.fromEntries(Object.keys(input.env).map((k) => [k, "[redacted]"])) } : {}),
  };
}

// ---------------------------------------------------------------------------------
// Per-console state: children of this console, programs found again, the poll timer.

interface Supervisor {
  /** Programs this console started: it is their parent. */
  children: Map<string, Launched>;
  /** Programs found again after a restart (not our children): polled through /proc. */
  watched: Map<string, { pid: number; startTime: string | null }>;
  /** The signal process.stop sent last, per program (the exit of a watched one is attributed to it). */
  stopSignals: Map<string, StopSignal>;
  timer: NodeJS.Timeout | null;
  capping: boolean;
  /** Set once cutting logs failed (a file system without punch-hole): warned once, not again. */
  capFailed: boolean;
  /** Programs being stopped because their sandbox is gone. */
  orphansStopping: Set<string>;
}

const SUPERVISORS = Symbol.for("nslab.processes");
type Global = typeof globalThis & { [SUPERVISORS]?: WeakMap<App, Supervisor> };

function supervisorOf(app: App): Supervisor {
  const g = globalThis as Global;
  const all = (g[SUPERVISORS] ??= new WeakMap());
  let sup = all.get(app);
  if (!sup) {
    sup = { children: new Map(), watched: new Map(), stopSignals: new Map(), timer: null, capping: false, capFailed: false, orphansStopping: new Set() };
    all.set(app, sup);
  }
  return sup;
}

const POLL_MS = 1000;

function ensureTimer(app: App): void {
  const sup = supervisorOf(app);
  if (sup.timer) return;
  sup.timer = setInterval(() => tick(app), POLL_MS);
  sup.timer.unref();
}

function maybeStopTimer(sup: Supervisor): void {
  if (sup.timer && sup.children.size === 0 && sup.watched.size === 0) {
    clearInterval(sup.timer);
    sup.timer = null;
  }
}

/**
 * One pass: notice watched programs that ended, stop programs whose sandbox is gone (a
 * start that raced a sandbox.delete would otherwise live on in the orphaned namespace),
 * and cut logs grown past the cap.
 */
function tick(app: App): void {
  const sup = supervisorOf(app);
  for (const [id, ref] of sup.watched) {
    if (!isRunning(ref.pid, ref.startTime)) {
      sup.watched.delete(id);
      const signal = sup.stopSignals.get(id) ?? null;
      markExited(app, id, { exitCode: null, signal });
    }
  }
  try {
    const orphans = app.store
      .select({ id: processes.id, sandbox: processes.sandbox })
      .from(processes)
      .leftJoin(sandboxes, eq(sandboxes.name, processes.sandbox))
      .where(and(eq(processes.state, "running"), isNull(sandboxes.id)))
      .all();
    for (const orphan of orphans) {
      if (sup.orphansStopping.has(orphan.id)) continue;
      sup.orphansStopping.add(orphan.id);
      log.warn({ process: orphan.id, sandbox: orphan.sandbox }, "stopping a program whose sandbox is gone");
      stopProcess(app, orphan.id, "TERM")
        .catch((error) => log.warn({ err: error, process: orphan.id }, "could not stop a program whose sandbox is gone"))
        .finally(() => sup.orphansStopping.delete(orphan.id));
    }
  } catch (error) {
    log.warn({ err: error }, "checking programs of deleted sandboxes failed");
  }
  startCapping(app, [...sup.children.keys(), ...sup.watched.keys()]);
  maybeStopTimer(sup);
}

function startCapping(app: App, ids: string[]): void {
  const sup = supervisorOf(app);
  if (sup.capping || ids.length === 0) return;
  sup.capping = true;
  capLogs(app, ids)
    .catch((error) => {
      if (!sup.capFailed) log.warn({ err: error }, "cutting program logs failed; they grow past NSLAB_PROCESS_LOG_BYTES on disk");
      sup.capFailed = true;
    })
    .finally(() => {
      sup.capping = false;
    });
}

/** Records that a program ended (once) and tells every browser. */
function markExited(app: App, id: string, exit: ProgramExit): void {
  const sup = supervisorOf(app);
  sup.children.delete(id);
  sup.watched.delete(id);
  sup.stopSignals.delete(id);
  const row = app.store
    .update(processes)
    .set({ state: "exited", exitCode: exit.exitCode, signal: exit.signal, endedAt: new Date().toISOString() })
    .where(and(eq(processes.id, id), eq(processes.state, "running")))
    .returning()
    .get();
  if (row) {
    app.events.publish({ type: "process.exited", sandbox: row.sandbox, by: row.startedBy });
    // The last output written since the last pass is cut too.
    capLogs(app, [id]).catch(() => undefined);
  }
  maybeStopTimer(sup);
}

// ---------------------------------------------------------------------------------
// Files

function processDir(app: App, id: string): string {
  return path.join(app.config.dataDir, "processes", id);
}

function logFile(app: App, id: string, stream: "stdout" | "stderr"): string {
  return path.join(processDir(app, id), stream);
}

function fileSize(file: string): number {
  try {
    return fs.statSync(/*turbopackIgnore: true*/ file).size;
  } catch {
    return 0;
  }
}

/** Frees the head of each log past the cap (rounded down to 4 KiB blocks, as punch-hole frees whole blocks). */
async function capLogs(app: App, ids: string[]): Promise<void> {
  const cap = app.config.NSLAB_PROCESS_LOG_BYTES;
  for (const id of ids) {
    for (const stream of ["stdout", "stderr"] as const) {
      const file = logFile(app, id, stream);
      let st: fs.Stats;
      try {
        st = fs.statSync(/*turbopackIgnore: true*/ file);
      } catch {
        continue;
      }
      // Allocated bytes, not the size: the punched head has none. Leave some slack.
      if (st.blocks * 512 <= cap + Math.max(64 * 1024, cap / 4)) continue;
      const head = Math.floor((st.size - cap) / 4096) * 4096;
      if (head > 0) await punchHead(app.runner, file, head);
    }
  }
}

/** Reads bytes [from, to) of a file. */
function readRange(file: string, from: number, to: number): Buffer {
  if (to <= from) return Buffer.alloc(0);
  const fd = fs.openSync(/*turbopackIgnore: true*/ file, "r");
  try {
    const buf = Buffer.alloc(to - from);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** Drops UTF-8 continuation bytes at the start of a cut buffer (half a character). */
function skipPartialChar(buf: Buffer): Buffer {
  let k = 0;
  while (k < buf.length && k < 3 && (buf[k]! & 0xc0) === 0x80) k++;
  return buf.subarray(k);
}

function lastLines(text: string, n: number): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const lines = body.split("\n");
  if (lines.length <= n) return text;
  return lines.slice(-n).join("\n") + (text.endsWith("\n") ? "\n" : "");
}

// ---------------------------------------------------------------------------------
// Service

function findRow(db: Db, id: string): Row | undefined {
  return db.select().from(processes).where(eq(processes.id, id)).get();
}

function newProcessId(): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  let id = "p";
  for (const byte of randomBytes(11)) id += alphabet[byte % 36];
  return id;
}

/** The process or NOT_FOUND. */
export function getProcess(db: Db, id: string): ProcessView {
  const row = findRow(db, id);
  if (!row) throw new AppError("NOT_FOUND", `No process ${id}`);
  return view(row);
}

/** All processes (of one sandbox), oldest first. */
export function listProcesses(db: Db, sandbox?: string): ProcessView[] {
  return db
    .select()
    .from(processes)
    .where(sandbox ? eq(processes.sandbox, sandbox) : undefined)
    .orderBy(asc(processes.startedAt), asc(processes.id))
    .all()
    .map(view);
}

/** What start checked and decided, handed from the check (in the audit transaction) to the launch. */
export interface PreparedStart {
  id: string;
  input: StartInput;
  linuxUser: NonNullable<ReturnType<typeof lookupLinuxUser>>;
  cwd: string;
}

function fieldError(field: string, message: string): AppError {
  return new AppError("INPUT_INVALID", `${field}: ${message}`, { fieldErrors: { [field]: [message] } });
}

/**
 * Checks a start and reserves its row (state running, no pid yet) in `db`; throws with
 * nothing reserved when it may not or cannot run. Runs inside the audited transaction,
 * so the per-user cap is checked and taken in one step.
 */
export function prepareStart(db: Db, app: App, user: UserView, input: StartInput, id = newProcessId()): PreparedStart {
  if (user.role === "viewer") throw new AppError("FORBIDDEN", "Viewers cannot start programs");
  const sandbox = db.select().from(sandboxes).where(eq(sandboxes.name, input.sandbox)).get();
  if (!sandbox) throw new AppError("NOT_FOUND", `No sandbox ${input.sandbox}`);
  if (user.role !== "admin" && sandbox.owner !== user.username) {
    throw new AppError("FORBIDDEN", `Sandbox ${input.sandbox} belongs to ${sandbox.owner}; you may only start programs in your own sandboxes`);
  }
  if (input.user === "root" && user.role !== "admin") {
    throw new AppError("FORBIDDEN", "Only admins may run programs as root");
  }
  if (user.role !== "admin" && !user.runAs.includes(input.user)) {
    const allowed = user.runAs.length ? user.runAs.join(", ") : "none";
    throw new AppError("FORBIDDEN", `You may not run programs as ${input.user} (allowed: ${allowed})`);
  }
  const linuxUser = lookupLinuxUser(input.user);
  if (!linuxUser) throw fieldError("user", `there is no Linux user ${input.user} on this host`);
  if (linuxUser.uid === 0 && user.role !== "admin") throw new AppError("FORBIDDEN", "Only admins may run programs as root (uid 0)");

  let cwd: string;
  if (input.cwd !== undefined) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(/*turbopackIgnore: true*/ input.cwd);
    } catch {
      st = null;
    }
    if (!st) throw fieldError("cwd", `${input.cwd} does not exist`);
    if (!st.isDirectory()) throw fieldError("cwd", `${input.cwd} is not a directory`);
    cwd = input.cwd;
  } else {
    // The user's home, or / when it has none (nobody's is /nonexistent).
    cwd = linuxUser.home && fs.statSync(/*turbopackIgnore: true*/ linuxUser.home, { throwIfNoEntry: false })?.isDirectory() ? linuxUser.home : "/";
  }

  if (sandbox.state === "deleting") throw new AppError("CONFLICT", `Sandbox ${input.sandbox} is being deleted`);
  if (!netnsExists(input.sandbox)) {
    throw new AppError("CONFLICT", `Sandbox ${input.sandbox} has no network namespace yet (state ${sandbox.state}); try again when it is ready`);
  }

  const running = db
    .select({ id: processes.id })
    .from(processes)
    .where(and(eq(processes.startedBy, user.username), eq(processes.state, "running")))
    .all().length;
  const limit = app.config.NSLAB_PROCESS_LIMIT;
  if (running >= limit) {
    throw new AppError("LIMIT", `You have ${running} running programs; the limit is ${limit} (NSLAB_PROCESS_LIMIT). Stop one first.`);
  }

  db.insert(processes)
    .values({
      id,
      sandbox: input.sandbox,
      argv: input.argv,
      user: input.user,
      cwd,
      env: input.env ?? {},
      pid: null,
      pidStartTime: null,
      state: "running",
      startedAt: new Date().toISOString(),
      startedBy: user.username,
    })
    .run();
  return { id, input, linuxUser, cwd };
}

/**
 * Launches a reserved program. When the launcher cannot even be spawned the row is
 * marked exited, an error audit row is written and the error thrown.
 */
export function launchPrepared(app: App, prepared: PreparedStart, by: string): { id: string; pid: number } {
  const { id, input } = prepared;
  const dir = processDir(app, id);
  let launched: Launched;
  try {
    fs.mkdirSync(/*turbopackIgnore: true*/ dir, { recursive: true, mode: 0o700 });
    launched = launchProgram(
      { netns: input.sandbox, user: prepared.linuxUser, argv: input.argv, cwd: prepared.cwd, env: input.env ?? {} },
      { stdout: logFile(app, id, "stdout"), stderr: logFile(app, id, "stderr") },
    );
  } catch (error) {
    markExited(app, id, { exitCode: null, signal: null });
    writeAudit(app.store, {
      user: by,
      action: "process.start",
      target: id,
      sandbox: input.sandbox,
      input: auditInputOf(input),
      result: "error",
      error: (error as Error).message,
    });
    throw new AppError("HOST_UNSUPPORTED", `Could not start the program: ${(error as Error).message}`, {}, { cause: error });
  }
  app.store.update(processes).set({ pid: launched.pid, pidStartTime: launched.startTime }).where(eq(processes.id, id)).run();
  const sup = supervisorOf(app);
  sup.children.set(id, launched);
  launched.exit.then((exit) => markExited(app, id, exit));
  ensureTimer(app);
  return { id, pid: launched.pid };
}

/** Checks that `user` may stop (signal) process `row`: admins any, operators their sandboxes' and their own. */
export function assertMayStop(db: Db, user: UserView, row: Row | undefined, id: string): Row {
  if (!row) throw new AppError("NOT_FOUND", `No process ${id}`);
  if (user.role === "admin") return row;
  if (user.role === "viewer") throw new AppError("FORBIDDEN", "Viewers cannot stop programs");
  if (row.startedBy === user.username) return row;
  const sandbox = db.select().from(sandboxes).where(eq(sandboxes.name, row.sandbox)).get();
  if (sandbox?.owner === user.username) return row;
  throw new AppError("FORBIDDEN", `Process ${id} runs in ${row.sandbox}, which you do not own, and was started by ${row.startedBy}`);
}

export { assertMayStop as assertMayStopProcess, findRow as findProcessRow };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitGone(refs: () => ProcRef[], leader: { pid: number; startTime: string | null }, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!isRunning(leader.pid, leader.startTime) && !anyRunning(refs())) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Stops a program: `signal` (default TERM) to its process group and session, then KILL
 * to whatever of them is left after NSLAB_PROCESS_STOP_GRACE_SECONDS; resolves once the
 * program has ended and been recorded (or after KILL had 5 s to work). Stopping an
 * exited program changes nothing.
 */
export async function stopProcess(app: App, id: string, signal: StopSignal = "TERM"): Promise<ProcessView> {
  const row = findRow(app.store, id);
  if (!row) throw new AppError("NOT_FOUND", `No process ${id}`);
  if (row.state !== "running") return view(row);
  const sup = supervisorOf(app);
  if (row.pid === null) {
    // Reserved but never launched (a crash between the two steps).
    markExited(app, id, { exitCode: null, signal: null });
    return getProcess(app.store, id);
  }
  const leader = { pid: row.pid, startTime: row.pidStartTime };
  if (!isRunning(leader.pid, leader.startTime) && !sup.children.has(id)) {
    markExited(app, id, { exitCode: null, signal: null });
    return getProcess(app.store, id);
  }
  sup.stopSignals.set(id, signal);
  let targets = signalProgram(leader, [], signal);
  const grace = signal === "KILL" ? 0 : app.config.NSLAB_PROCESS_STOP_GRACE_SECONDS * 1000;
  if (!(await waitGone(() => targets, leader, grace))) {
    sup.stopSignals.set(id, "KILL");
    targets = signalProgram(leader, targets, "KILL");
    await waitGone(() => targets, leader, 5000);
  }
  const child = sup.children.get(id);
  if (child) {
    // Our child: its exit promise carries the real status; it settles right after the end.
    await Promise.race([child.exit, sleep(5000)]);
  } else if (!isRunning(leader.pid, leader.startTime)) {
    markExited(app, id, { exitCode: null, signal: sup.stopSignals.get(id) ?? signal });
  }
  return getProcess(app.store, id);
}

/**
 * Stops every running program of a sandbox and waits for them; the sandbox engine calls
 * this before it deletes the namespace.
 */
export async function stopProcessesOfSandbox(app: App, sandboxName: string): Promise<void> {
  const rows = app.store
    .select()
    .from(processes)
    .where(and(eq(processes.sandbox, sandboxName), eq(processes.state, "running")))
    .all();
  await Promise.all(rows.map((row) => stopProcess(app, row.id, "TERM")));
}

/**
 * Start-up: finds again every program the store says is running. One still running
 * (same pid and start time) is watched until it ends; one that ended while no console
 * ran is marked exited, its exit status unknown.
 */
export function resumeProcesses(app: App): { running: number; exited: number } {
  const sup = supervisorOf(app);
  const rows = app.store.select().from(processes).where(eq(processes.state, "running")).all();
  let running = 0;
  let exited = 0;
  for (const row of rows) {
    if (sup.children.has(row.id)) {
      running++;
      continue;
    }
    if (row.pid !== null && row.pidStartTime !== null && isRunning(row.pid, row.pidStartTime)) {
      sup.watched.set(row.id, { pid: row.pid, startTime: row.pidStartTime });
      running++;
    } else {
      markExited(app, row.id, { exitCode: null, signal: null });
      exited++;
    }
  }
  if (sup.watched.size) ensureTimer(app);
  return { running, exited };
}

/** Both logs, the kept part; `tail` keeps only the last lines of each. */
export function readLogs(app: App, id: string, tail?: number) {
  const row = findRow(app.store, id);
  if (!row) throw new AppError("NOT_FOUND", `No process ${id}`);
  const cap = app.config.NSLAB_PROCESS_LOG_BYTES;
  const read = (stream: "stdout" | "stderr") => {
    const file = logFile(app, id, stream);
    const size = fileSize(file);
    const from = Math.max(0, size - cap);
    let buf = readRange(file, from, size);
    if (from > 0) buf = skipPartialChar(buf);
    const text = buf.toString("utf8");
    return { text: tail ? lastLines(text, tail) : text, size, truncated: from > 0 };
  };
  const out = read("stdout");
  const err = read("stderr");
  return {
    stdout: out.text,
    stderr: err.text,
    /** True when older output was cut (only the newest NSLAB_PROCESS_LOG_BYTES of a stream are kept). */
    truncated: out.truncated || err.truncated,
    truncatedStreams: { stdout: out.truncated, stderr: err.truncated },
    /** Pass as `lastEventId` to process.output to stream what follows exactly this. */
    cursor: `${out.size}:${err.size}`,
    state: row.state,
  };
}

export type OutputEvent =
  | { kind: "output"; stream: "stdout" | "stderr"; data: string }
  | { kind: "skipped"; stream: "stdout" | "stderr"; bytes: number }
  | { kind: "exit"; state: "exited"; exitCode: number | null; signal: string | null; endedAt: string | null };

/**
 * New output of a program as it is written (the files are polled every 200 ms), each
 * event with its cursor `stdoutOffset:stderrOffset`; ends with an `exit` event once the
 * program has ended and all its output was sent.
 */
export async function* followOutput(
  app: App,
  id: string,
  lastEventId: string | undefined,
  signal?: AbortSignal,
): AsyncGenerator<{ cursor: string; event: OutputEvent }> {
  if (!findRow(app.store, id)) throw new AppError("NOT_FOUND", `No process ${id}`);
  const streams = ["stdout", "stderr"] as const;
  const files = { stdout: logFile(app, id, "stdout"), stderr: logFile(app, id, "stderr") };
  const offsets = { stdout: 0, stderr: 0 };
  if (lastEventId) {
    const [o, e] = lastEventId.split(":").map(Number);
    offsets.stdout = o!;
    offsets.stderr = e!;
  } else {
    offsets.stdout = fileSize(files.stdout);
    offsets.stderr = fileSize(files.stderr);
  }
  const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
  const cap = app.config.NSLAB_PROCESS_LOG_BYTES;
  const cursor = () => `${offsets.stdout}:${offsets.stderr}`;
  const CHUNK = 64 * 1024;
  while (!signal?.aborted) {
    // Read the state first: output written before the end is then surely read below.
    const row = findRow(app.store, id);
    let sent = false;
    for (const stream of streams) {
      const size = fileSize(files[stream]);
      if (size < offsets[stream]) offsets[stream] = size;
      const oldest = Math.max(0, size - cap);
      if (offsets[stream] < oldest) {
        const bytes = oldest - offsets[stream];
        offsets[stream] = oldest;
        decoders[stream] = new StringDecoder("utf8");
        yield { cursor: cursor(), event: { kind: "skipped", stream, bytes } };
      }
      while (offsets[stream] < size && !signal?.aborted) {
        const to = Math.min(size, offsets[stream] + CHUNK);
        const buf = readRange(files[stream], offsets[stream], to);
        if (buf.length === 0) break;
        offsets[stream] += buf.length;
        const data = decoders[stream].write(buf);
        if (data) {
          sent = true;
          yield { cursor: cursor(), event: { kind: "output", stream, data } };
        }
      }
    }
    if (!row || row.state === "exited") {
      yield {
        cursor: cursor(),
        event: { kind: "exit", state: "exited", exitCode: row?.exitCode ?? null, signal: row?.signal ?? null, endedAt: row?.endedAt ?? null },
      };
      return;
    }
    if (!sent) await sleep(200);
  }
}

/** The pid's current start time, for tests and diagnostics. */
export function startTimeOf(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}
