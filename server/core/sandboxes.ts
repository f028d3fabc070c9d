/**
 * The sandbox service (API.md "Sandboxes"): intent in the store, planned against what
 * the kernel shows now, applied through the runner, outcome recorded and audited.
 *
 * Create: under the engine lock, observe; then in ONE synchronous SQLite transaction
 * check names, allocate subnets and insert the rows (state `creating`), so parallel
 * creates never get the same addresses; apply the plan; mark the rows `ready` with their
 * audit rows. When apply fails, its undo has already run: the rows are deleted and an
 * error audit row records the try. A crash leaves `creating` rows that reconcile finishes.
 *
 * Delete: rows are marked `deleting` first, the kernel objects removed, then the rows
 * deleted; a crash in between is finished by reconcile, so a deleted sandbox never
 * comes back.
 */
import { and, count, eq, inArray } from "drizzle-orm";
import { Address4, Address6 } from "ip-address";
import { z } from "zod";
import type { App } from "../app";
import { AppError } from "../errors";
import { log } from "../log";
import type { Db } from "../store/db";
import { processes, rules, sandboxes } from "../store/schema";
import { writeAudit } from "./audit";
import type { Role } from "./users";
import { addressesOf, allocateBlock, conflictOf, rangeOf, subnetSchema, usedRanges } from "./allocation";
import { filterSpecOf } from "./rules";
import { stopProcessesOfSandbox } from "./processes";
import { observe, observeLight, type Observed } from "../net/observe";
import { apply } from "../net/apply";
import { diagnose, planCreate, planDelete, planDeleteFast, type SandboxSpec } from "../net/plan";
import { natLinesOfAllPorts, portSpecs } from "./ports";
import { renderPortsChain } from "../net/ports-nat";
import { ports } from "../store/schema";
import { hostIfName, newSandboxId } from "../net/names";
import { withLock } from "./lock";

export type EngineApp = Pick<App, "store" | "runner" | "events" | "config">;
export type SandboxRow = typeof sandboxes.$inferSelect;

export interface Actor {
  username: string;
  role: Role;
}

// ---------------------------------------------------------------- input schemas

/** Sandbox names (the namespace name): API.md's pattern, nothing else. */
export const sandboxNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "must start with a-z and hold only a-z, 0-9 and - (1 to 31 characters)");

/** A host interface name: what the kernel accepts, never starting with "-". */
export const ifNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/, "must be an interface name (1-15 of a-z, A-Z, 0-9, _ . -)");

const nameserverSchema = z
  .string()
  .max(45)
  .refine((v) => (/^[\d.]+$/.test(v) && Address4.isValid(v)) || (/^[0-9a-fA-F:]+$/.test(v) && Address6.isValid(v)), {
    message: "must be an IPv4 or IPv6 address",
  });

export const MODES = ["nat", "routed", "isolated"] as const;
export type Mode = (typeof MODES)[number];

export const createInputSchema = z.strictObject({
  name: sandboxNameSchema,
  mode: z.enum(MODES).optional(),
  subnet: subnetSchema.optional(),
  nat: z.boolean().optional(),
  egress: ifNameSchema.optional(),
  dns: z.array(nameserverSchema).max(3, "at most 3 nameservers (what resolv.conf uses)").optional(),
  description: z
    .string()
    .max(500)
    .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, "must not hold control characters")
    .optional(),
});
export type CreateInput = z.infer<typeof createInputSchema>;

export const createManyInputSchema = z.strictObject({ sandboxes: z.array(createInputSchema).min(1).max(1000) });
export const nameInputSchema = z.strictObject({ name: sandboxNameSchema });
export const deleteManyInputSchema = z.strictObject({ names: z.array(sandboxNameSchema).min(1).max(1000) });

// ---------------------------------------------------------------- engine state

/** Per-App engine state: what reconcile learnt (the lock that orders every plan+apply is server/core/lock.ts). */
interface Engine {
  /** Sandbox ids a running operation owns: reconcile leaves them alone. */
  inFlight: Set<string>;
  /** Sandbox id → last repair error. */
  errors: Map<string, string>;
  timer: NodeJS.Timeout | null;
  /**
   * True once a reconcile has laid down and checked the base layout. Then creates and
   * deletes take the fast path (no firewall read; deletes rendered from the store) and
   * fall back to a full observation when the kernel refuses.
   */
  baseVerified: boolean;
}

// Next bundles route handlers and instrumentation (start-up, the reconcile timer)
// separately, so this module can be loaded twice in one process: the engine state lives
// on a process-wide global, keyed by the App's store (and so does the lock).
const ENGINES_KEY = Symbol.for("nslab.engines");
const engines: WeakMap<object, Engine> = ((globalThis as Record<symbol, unknown>)[ENGINES_KEY] ??= new WeakMap<object, Engine>()) as WeakMap<object, Engine>;

export function engineOf(app: Pick<App, "store">): Engine {
  let engine = engines.get(app.store);
  if (!engine) {
    engine = { inFlight: new Set(), errors: new Map(), timer: null, baseVerified: false };
    engines.set(app.store, engine);
  }
  return engine;
}

/**
 * Runs `fn` alone: observe → plan → apply of one operation never interleaves with
 * another's, nor with a rule, policy or port change (the runner's queue orders single
 * commands; this orders whole plans). The process-wide lock of server/core/lock.ts,
 * held whole: rule and port code called from `fn` runs at once under it.
 */
export async function exclusive<T>(app: Pick<App, "store">, fn: () => Promise<T>): Promise<T> {
  return withLock(app, "all", fn);
}

// ---------------------------------------------------------------- views

export interface SandboxView {
  name: string;
  id: string;
  owner: string;
  mode: Mode;
  subnet: string | null;
  hostAddress: string | null;
  address: string | null;
  nat: boolean;
  egress: string | null;
  dns: string[];
  description: string;
  policy: { egress: "accept" | "drop"; ingress: "accept" | "drop" };
  status: "ok" | "drift" | "error";
  statusDetail?: string;
  interfaces: { name: string; hostName: string | null; addresses: string[] }[];
  adopted: boolean;
  createdAt: string;
  /** Filter rules of the sandbox (from the store). */
  ruleCount: number;
  /** Programs running in the sandbox (state `running` in the store). */
  runningPrograms: number;
}

/** Per-sandbox counts for views: rules by sandbox id, running programs by sandbox name. */
export interface ViewCounts {
  rules: Map<string, number>;
  running: Map<string, number>;
}

/**
 * Rule and running-program counts, one grouped query each, for the given rows (all
 * sandboxes when omitted): a list costs two queries whatever its length.
 */
export function viewCountsOf(db: Db, rows?: readonly Pick<SandboxRow, "id" | "name">[]): ViewCounts {
  if (rows && rows.length === 0) return { rules: new Map(), running: new Map() };
  const ruleCounts = db
    .select({ sandboxId: rules.sandboxId, n: count() })
    .from(rules)
    .where(rows ? inArray(rules.sandboxId, rows.map((r) => r.id)) : undefined)
    .groupBy(rules.sandboxId)
    .all();
  const runningCounts = db
    .select({ sandbox: processes.sandbox, n: count() })
    .from(processes)
    .where(rows ? and(eq(processes.state, "running"), inArray(processes.sandbox, rows.map((r) => r.name))) : eq(processes.state, "running"))
    .groupBy(processes.sandbox)
    .all();
  return {
    rules: new Map(ruleCounts.map((r) => [r.sandboxId, r.n])),
    running: new Map(runningCounts.map((r) => [r.sandbox, r.n])),
  };
}

/** The kernel-facing spec of a stored sandbox (with its filter rules). */
export function specOf(db: Db, row: SandboxRow): SandboxSpec {
  const filter = filterSpecOf(db, row);
  return {
    id: row.id,
    name: row.name,
    mode: row.mode,
    subnet: row.subnet,
    hostAddress: row.hostAddress,
    address: row.address,
    egress: row.egress,
    dns: row.dns,
    policy: filter.policy,
    rules: filter.rules,
    adopted: row.adopted,
  };
}

/**
 * What a sandbox looks like to API callers; `observed` (if given) decides its status.
 * Lists pass `counts` from one viewCountsOf for all their rows; alone it reads its own.
 */
export function viewOf(app: Pick<App, "store">, row: SandboxRow, observed: Observed | null, counts: ViewCounts = viewCountsOf(app.store, [row])): SandboxView {
  let status: SandboxView["status"] = "ok";
  let statusDetail: string | undefined;
  const error = engineOf(app).errors.get(row.id);
  if (row.state === "creating") {
    status = "drift";
    statusDetail = "being created";
  } else if ((row.state as string) === "deleting") {
    status = "drift";
    statusDetail = "being deleted";
  } else if (error) {
    status = "error";
    statusDetail = error;
  } else if (observed) {
    const problems = diagnose(specOf(app.store, row), observed);
    if (problems.length) {
      status = "drift";
      statusDetail = problems.join("; ");
    }
  }
  const prefix = row.subnet ? row.subnet.split("/")[1] : null;
  const wired = row.mode !== "isolated" && row.address && row.hostAddress;
  return {
    name: row.name,
    id: row.id,
    owner: row.owner,
    mode: row.mode,
    subnet: row.subnet,
    hostAddress: row.hostAddress,
    address: row.address,
    nat: row.nat,
    egress: row.egress,
    dns: row.dns,
    description: row.description,
    policy: { egress: row.policyEgress, ingress: row.policyIngress },
    status,
    ...(statusDetail ? { statusDetail } : {}),
    interfaces: wired ? [{ name: "eth0", hostName: hostIfName(row.id), addresses: [`${row.address}/${prefix}`] }] : [],
    adopted: row.adopted,
    createdAt: row.createdAt,
    ruleCount: counts.rules.get(row.id) ?? 0,
    runningPrograms: counts.running.get(row.name) ?? 0,
  };
}

const allRows = (db: Db) => db.select().from(sandboxes).all();
const rowByName = (db: Db, name: string) => db.select().from(sandboxes).where(eq(sandboxes.name, name)).get();

/** Operators change what they own, admins anything (viewers are refused by the router). */
export function assertMayManage(actor: Actor, row: SandboxRow): void {
  if (actor.role === "admin") return;
  if (actor.role === "operator" && row.owner === actor.username) return;
  throw new AppError("FORBIDDEN", `Only ${row.owner} (the owner) or an admin may change sandbox ${row.name}`);
}

function auditError(app: EngineApp, actor: Actor, action: string, sandbox: string | null, input: unknown, error: unknown): void {
  try {
    writeAudit(app.store, { user: actor.username, action, target: sandbox, sandbox, input, result: "error", error: (error as Error).message });
  } catch (auditFailure) {
    log.error({ err: auditFailure }, "could not write the audit row");
  }
}

// ---------------------------------------------------------------- reads

/** sandbox.get */
export async function getSandbox(app: EngineApp, name: string): Promise<SandboxView> {
  const row = rowByName(app.store, name);
  if (!row) throw new AppError("NOT_FOUND", `No sandbox ${name}`);
  const observed = await observe(app.runner);
  return viewOf(app, row, observed);
}

/** sandbox.list: the managed sandboxes and the namespaces nslab does not manage. */
export async function listSandboxes(app: EngineApp): Promise<{ sandboxes: SandboxView[]; foreign: { name: string }[] }> {
  const observed = await observe(app.runner);
  const rows = allRows(app.store).sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(rows.map((r) => r.name));
  const counts = viewCountsOf(app.store);
  return {
    sandboxes: rows.map((row) => viewOf(app, row, observed, counts)),
    foreign: observed.namespaces
      .filter((n) => !names.has(n.name))
      .map((n) => ({ name: n.name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

// ---------------------------------------------------------------- create

function resolveMode(input: CreateInput): Mode {
  if (input.mode) {
    if (input.nat !== undefined && input.nat !== (input.mode === "nat")) {
      throw new AppError("INPUT_INVALID", `nat: ${input.nat} contradicts mode "${input.mode}"`, {
        fieldErrors: { nat: [`contradicts mode "${input.mode}"`] },
      });
    }
    return input.mode;
  }
  return input.nat === false ? "routed" : "nat";
}

/** Checks and allocates every input against the store and the host; inserts the intents. */
function insertIntents(tx: Db, app: EngineApp, actor: Actor, inputs: readonly CreateInput[], observed: Observed): SandboxRow[] {
  const existing: { name: string; subnet: string | null }[] = tx.select({ name: sandboxes.name, subnet: sandboxes.subnet }).from(sandboxes).all();
  const used = usedRanges(observed, existing);
  const defaultEgress = observed.routes.find((r) => r.dst === "default")?.dev ?? null;
  const createdAt = new Date().toISOString();
  const rows: SandboxRow[] = [];
  for (const input of inputs) {
    const field = (f: string, message: string) => ({ fieldErrors: { [f]: [message] } });
    if (existing.some((r) => r.name === input.name)) {
      throw new AppError("NAME_TAKEN", `A sandbox named ${input.name} exists already`, field("name", "is taken"));
    }
    if (observed.namespaces.some((n) => n.name === input.name)) {
      throw new AppError(
        "NAME_TAKEN",
        `A network namespace named ${input.name} exists on the host and nslab does not manage it (sandbox.adopt takes it as it is)`,
        field("name", "is a foreign namespace"),
      );
    }
    const mode = resolveMode(input);
    let egress: string | null = input.egress ?? null;
    if (mode === "nat") egress ??= defaultEgress;
    if (mode === "nat" && !egress) {
      throw new AppError("INPUT_INVALID", "The host has no default route: name the egress interface", field("egress", "is required: no default route"));
    }
    if (mode === "isolated" && (input.subnet || input.egress)) {
      throw new AppError("INPUT_INVALID", "An isolated sandbox has no subnet and no egress", field(input.subnet ? "subnet" : "egress", "not for mode isolated"));
    }
    if (egress && (!observed.links.some((l) => l.name === egress) || egress.startsWith("nsl"))) {
      throw new AppError("INPUT_INVALID", `No usable host interface ${egress}`, field("egress", "no such host interface"));
    }
    let subnet: string | null = null;
    if (mode !== "isolated") {
      if (input.subnet) {
        const conflict = conflictOf(input.subnet, used);
        if (conflict) {
          throw new AppError("ADDRESS_CONFLICT", `Subnet ${input.subnet} overlaps ${conflict.by}`, field("subnet", `overlaps ${conflict.by}`));
        }
        subnet = input.subnet;
      } else {
        subnet = allocateBlock(app.config.NSLAB_POOL, used);
        if (!subnet) throw new AppError("POOL_EXHAUSTED", `No free /30 left in the pool ${app.config.NSLAB_POOL}`);
      }
      used.push(rangeOf(subnet, `sandbox ${input.name}`));
    }
    const addresses = subnet ? addressesOf(subnet) : { hostAddress: null, address: null };
    const row: SandboxRow = {
      id: newSandboxId(),
      name: input.name,
      owner: actor.username,
      mode,
      subnet,
      hostAddress: addresses.hostAddress,
      address: addresses.address,
      nat: mode === "nat",
      egress: mode === "isolated" ? null : egress,
      dns: input.dns ?? [],
      description: input.description ?? "",
      policyEgress: "accept",
      policyIngress: "drop",
      rulesRevision: 0,
      adopted: false,
      state: "creating",
      createdAt,
    };
    tx.insert(sandboxes).values(row).run();
    existing.push(row);
    rows.push(row);
  }
  return rows;
}

/**
 * sandbox.create / sandbox.createMany: all the inputs in one plan and one apply, all or
 * nothing.
 */
export async function createSandboxes(app: EngineApp, actor: Actor, inputs: readonly CreateInput[], action = "sandbox.create"): Promise<SandboxView[]> {
  const seen = new Set<string>();
  for (const input of inputs) {
    if (seen.has(input.name)) {
      const error = new AppError("NAME_TAKEN", `The name ${input.name} is given twice`, { fieldErrors: { name: ["is given twice"] } });
      auditError(app, actor, action, input.name, input, error);
      throw error;
    }
    seen.add(input.name);
  }
  const engine = engineOf(app);
  return exclusive(app, async () => {
    // Fast path: a read of /run/netns, /sys and /proc (no process); the full one when
    // the base layout has not been verified yet.
    const fast = engine.baseVerified;
    const observed = fast ? observeLight() : await observe(app.runner);
    let rows: SandboxRow[];
    try {
      rows = app.store.transaction((tx) => insertIntents(tx, app, actor, inputs, observed));
    } catch (error) {
      for (const input of inputs) auditError(app, actor, action, input.name, input, error);
      throw error;
    }
    for (const row of rows) engine.inFlight.add(row.id);
    try {
      const specs = rows.map((r) => specOf(app.store, r));
      try {
        await apply(app.runner, planCreate(specs, observed));
      } catch (error) {
        // Undone already. When the kernel says one of nslab's chains is missing, the base
        // layout was broken since the last reconcile: plan again on a full read (which
        // repairs it). Any other refusal is the answer.
        const stderr = error instanceof AppError ? String(error.detail.stderr ?? "") : "";
        if (!fast || !/No chain|does not exist|Couldn't load target|Chain '.*' does not exist/i.test(stderr)) throw error;
        log.warn({ err: error }, "create on the fast path failed; planning again on a full observation");
        await apply(app.runner, planCreate(specs, await observe(app.runner)));
      }
    } catch (error) {
      app.store.transaction((tx) => {
        tx.delete(sandboxes).where(inArray(sandboxes.id, rows.map((r) => r.id))).run();
        inputs.forEach((input) =>
          writeAudit(tx, { user: actor.username, action, target: input.name, sandbox: input.name, input, result: "error", error: (error as Error).message }),
        );
      });
      throw error;
    } finally {
      for (const row of rows) engine.inFlight.delete(row.id);
    }
    app.store.transaction((tx) => {
      tx.update(sandboxes).set({ state: "ready" }).where(inArray(sandboxes.id, rows.map((r) => r.id))).run();
      inputs.forEach((input) => writeAudit(tx, { user: actor.username, action, target: input.name, sandbox: input.name, input, result: "ok" }));
    });
    for (const row of rows) app.events.publish({ type: action, sandbox: row.name, by: actor.username });
    const counts = viewCountsOf(app.store, rows);
    return rows.map((row) => viewOf(app, { ...row, state: "ready" }, null, counts));
  });
}

// ---------------------------------------------------------------- delete

/**
 * sandbox.delete / sandbox.deleteMany: stops the sandboxes' programs, then removes their
 * namespaces, links, rules, port forwards and DNS files in one plan. Names nslab does
 * not have are already gone: that succeeds (and never touches a foreign namespace).
 */
export async function deleteSandboxes(app: EngineApp & Partial<App>, actor: Actor, names: readonly string[], action = "sandbox.delete"): Promise<{ deleted: string[]; alreadyGone: string[] }> {
  const unique = [...new Set(names)];
  const found = unique.map((name) => rowByName(app.store, name)).filter((r): r is SandboxRow => !!r);
  for (const row of found) {
    try {
      assertMayManage(actor, row);
    } catch (error) {
      auditError(app, actor, action, row.name, { name: row.name }, error);
      throw error;
    }
  }
  for (const row of found) {
    try {
      await stopProcessesOfSandbox(app as App, row.name);
    } catch (error) {
      log.warn({ err: error, sandbox: row.name }, "could not stop the sandbox's programs");
    }
  }
  const engine = engineOf(app);
  return exclusive(app, async () => {
    // Read again under the lock: another delete may have finished meanwhile.
    const rows = unique.map((name) => rowByName(app.store, name)).filter((r): r is SandboxRow => !!r);
    const gone = unique.filter((name) => !rows.some((r) => r.name === name));
    const before = new Map(rows.map((r) => [r.id, r.state]));
    app.store
      .update(sandboxes)
      .set({ state: "deleting" as SandboxRow["state"] })
      .where(inArray(sandboxes.id, rows.map((r) => r.id)))
      .run();
    for (const row of rows) engine.inFlight.add(row.id);
    try {
      const specs = rows.map((r) => specOf(app.store, r));
      let done = false;
      if (engine.baseVerified && specs.length) {
        // Fast path: rendered from the store as create wrote it; refused whole if the host differs.
        try {
          await apply(app.runner, planDeleteFast(specs, observeLight(), portsNatWithout(app, rows.map((r) => r.id))));
          done = true;
        } catch (error) {
          log.info({ err: error }, "delete on the fast path refused; planning again on a full observation");
        }
      }
      if (!done && specs.length) await apply(app.runner, planDelete(specs, await observe(app.runner)));
    } catch (error) {
      app.store.transaction((tx) => {
        for (const row of rows) {
          tx.update(sandboxes).set({ state: before.get(row.id)! }).where(eq(sandboxes.id, row.id)).run();
          writeAudit(tx, { user: actor.username, action, target: row.name, sandbox: row.name, input: { name: row.name }, result: "error", error: (error as Error).message });
        }
      });
      throw error;
    } finally {
      for (const row of rows) engine.inFlight.delete(row.id);
    }
    app.store.transaction((tx) => {
      if (rows.length) tx.delete(sandboxes).where(inArray(sandboxes.id, rows.map((r) => r.id))).run();
      for (const row of rows) writeAudit(tx, { user: actor.username, action, target: row.name, sandbox: row.name, input: { name: row.name }, result: "ok" });
      for (const name of gone) writeAudit(tx, { user: actor.username, action, target: name, sandbox: name, input: { name, alreadyGone: true }, result: "ok" });
    });
    for (const row of rows) {
      engine.errors.delete(row.id);
      app.events.publish({ type: action, sandbox: row.name, by: actor.username });
    }
    return { deleted: rows.map((r) => r.name), alreadyGone: gone };
  });
}

/** NSLAB-PORTS rewritten without the sandboxes' published ports (null when they have none). */
function portsNatWithout(app: EngineApp, ids: string[]): { without: string[]; all: string[] } | null {
  const has = ids.length ? app.store.select({ id: ports.id }).from(ports).where(inArray(ports.sandboxId, ids)).all() : [];
  if (!has.length) return null;
  const gone = new Set(ids);
  return {
    without: renderPortsChain(portSpecs(app.store).filter((p) => !gone.has(p.sandboxId))),
    all: natLinesOfAllPorts(app.store),
  };
}

// ---------------------------------------------------------------- adopt

/** sandbox.adopt: a foreign namespace comes under management as it is (nothing is built in it). */
export async function adoptSandbox(app: EngineApp, actor: Actor, name: string): Promise<SandboxView> {
  return exclusive(app, async () => {
    try {
      if (rowByName(app.store, name)) throw new AppError("NAME_TAKEN", `Sandbox ${name} is managed already`);
      const observed = await observe(app.runner, { firewall: false });
      if (!observed.namespaces.some((n) => n.name === name)) throw new AppError("NOT_FOUND", `No namespace ${name} on the host`);
      const row: SandboxRow = {
        id: newSandboxId(),
        name,
        owner: actor.username,
        mode: "isolated",
        subnet: null,
        hostAddress: null,
        address: null,
        nat: false,
        egress: null,
        dns: [],
        description: "adopted",
        policyEgress: "accept",
        policyIngress: "drop",
        rulesRevision: 0,
        adopted: true,
        state: "ready",
        createdAt: new Date().toISOString(),
      };
      app.store.transaction((tx) => {
        tx.insert(sandboxes).values(row).run();
        writeAudit(tx, { user: actor.username, action: "sandbox.adopt", target: name, sandbox: name, input: { name }, result: "ok" });
      });
      app.events.publish({ type: "sandbox.adopt", sandbox: name, by: actor.username });
      return viewOf(app, row, null);
    } catch (error) {
      auditError(app, actor, "sandbox.adopt", name, { name }, error);
      throw error;
    }
  });
}
