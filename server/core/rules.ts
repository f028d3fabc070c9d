import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { and, asc, eq, gt, gte, lt, lte, sql } from "drizzle-orm";
import type { App } from "../app";
import type { Db, Store } from "../store/db";
import { rules, sandboxes } from "../store/schema";
import { AppError } from "../errors";
import { writeAudit } from "./audit";
import type { Role } from "./users";
import { MAX_RULES, ruleSpecOf, type RuleSpec } from "../net/rules-input";
import type { z } from "zod";
import type { ruleAddSchema, ruleReplaceAllSchema, setPolicySchema } from "../net/rules-input";
import {
  canonicalChunks,
  chunkForInsert,
  chunksStillFit,
  renderedChainRules,
  renderRuleDelete,
  renderRuleInsert,
  sandboxChainNames,
  type SandboxFilterSpec,
} from "../net/sandbox-chains";
import { applySandboxFilter, readSandboxCounters } from "../net/rules-apply";
import { withLock } from "./lock";

/**
 * Per-sandbox filter rules (API.md "Filter rules"): an ordered list per sandbox in the
 * store, rendered into the sandbox's two chains. Every change runs under the sandbox's
 * lock: read the rules, compute the new list, rewrite the chains in one
 * `iptables-restore --noflush` transaction, then commit the store change with its audit
 * row (before and after) and a bumped revision. If the kernel refuses, nothing changes in
 * the store and an error audit row records the try. The store stays the truth: a crash
 * between apply and commit leaves the kernel ahead, and the next change or reconcile
 * rewrites the chains from the store.
 */

/** Who is acting: the signed-in user. */
export interface Actor {
  username: string;
  role: Role;
}

/** The part of the App the rule and port services use. */
export type RulesApp = Pick<App, "store" | "runner" | "events">;

export type SandboxRow = typeof sandboxes.$inferSelect;
export type RuleRow = typeof rules.$inferSelect;

/** One rule as the API shows it. */
export interface RuleView extends RuleSpec {
  id: string;
  position: number;
}

/** One rule as the store keeps it: with the chunk chain it sits in (never shown by the API). */
export interface StoredRule extends RuleView {
  chunk: number;
}

/** The API's view of a stored rule (without its chunk). */
export function ruleView(rule: StoredRule): RuleView {
  const { chunk: _chunk, ...view } = rule;
  return view;
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
/** A new id: `prefix` + 9 of [0-9a-z]. */
export function newId(prefix: "r" | "p"): string {
  let id = prefix;
  for (const byte of randomBytes(9)) id += ID_ALPHABET[byte % 36];
  return id;
}

/** The sandbox called `name`, or NOT_FOUND. */
export function sandboxByName(db: Db, name: string): SandboxRow {
  const row = db.select().from(sandboxes).where(eq(sandboxes.name, name)).get();
  if (!row) throw new AppError("NOT_FOUND", `No sandbox ${name}`);
  return row;
}

/** Operators change what they own, admins anything; viewers never (refused before this). */
export function assertCanChange(actor: Actor, sandbox: SandboxRow): void {
  if (actor.role === "admin") return;
  if (actor.role === "operator" && sandbox.owner === actor.username) return;
  throw new AppError("FORBIDDEN", `Only ${sandbox.owner} (the owner) or an admin may change sandbox ${sandbox.name}`);
}

/**
 * Refuses changes while the engine is building or removing the sandbox: its create
 * writes the chains from the rules it read before, its delete drops them; a change in
 * between would be lost or leave chains behind.
 */
export function assertSettled(sandbox: SandboxRow): void {
  const state = sandbox.state as string;
  if (state === "creating") throw new AppError("CONFLICT", `Sandbox ${sandbox.name} is still being created: try again in a moment`);
  if (state === "deleting") throw new AppError("CONFLICT", `Sandbox ${sandbox.name} is being deleted`);
}

/**
 * A sandbox's rules in order. A prepared statement on the SQLite handle (the columns the
 * schema declares): reading 1,000 rules through the query builder cost about 10 ms here,
 * this about 1 ms, and every rule change reads the list once.
 */
export function loadRules(db: Db, sandboxId: string): StoredRule[] {
  const client = clientOf(db);
  let statement = loadStatements.get(client);
  if (!statement) {
    statement = client.prepare(
      "SELECT id, position, direction, action, protocol, peer, ports, comment, chunk FROM rules WHERE sandbox_id = ? ORDER BY position",
    );
    loadStatements.set(client, statement);
  }
  return statement.all(sandboxId) as StoredRule[];
}
const loadStatements = new WeakMap<Database.Database, Database.Statement>();

/** The better-sqlite3 handle under a drizzle store or transaction. */
function clientOf(db: Db): Database.Database {
  const handle = db as unknown as { $client?: Database.Database; session?: { client?: Database.Database } };
  const client = handle.$client ?? handle.session?.client;
  if (!client) throw new Error("needs a better-sqlite3 store or transaction");
  return client;
}

// The last known rule list of each sandbox, valid for one revision. Every change to a
// sandbox's rules goes through this module under its lock and bumps the revision, so a
// list cached for the current revision is the store's list; a change elsewhere that
// bumps the revision (or a restart) simply misses the cache.
// Kept per store (per SQLite handle), so two stores in one process never share entries.
type RulesCache = Map<string, { revision: number; rules: StoredRule[] }>;
const rulesCaches = new WeakMap<Database.Database, RulesCache>();
function cacheOf(db: Db): RulesCache {
  const client = clientOf(db);
  let cache = rulesCaches.get(client);
  if (!cache) rulesCaches.set(client, (cache = new Map()));
  return cache;
}

/** The sandbox's rules in order, from the cache when it holds the current revision. */
export function rulesOf(db: Db, sandbox: SandboxRow): StoredRule[] {
  const cache = cacheOf(db);
  const hit = cache.get(sandbox.id);
  if (hit && hit.revision === sandbox.rulesRevision) return hit.rules;
  const list = loadRules(db, sandbox.id);
  cache.set(sandbox.id, { revision: sandbox.rulesRevision, rules: list });
  return list;
}

/** What the renderer needs for a sandbox, from the store (also for the engine's create/reconcile). */
export function filterSpecOf(db: Db, sandbox: SandboxRow, ruleList: readonly StoredRule[] = rulesOf(db, sandbox)): SandboxFilterSpec {
  return {
    id: sandbox.id,
    policy: { egress: sandbox.policyEgress, ingress: sandbox.policyIngress },
    rules: ruleList.map((r) => ({ id: r.id, direction: r.direction, action: r.action, protocol: r.protocol, peer: r.peer, ports: r.ports, chunk: r.chunk })),
  };
}

/**
 * One change at a time per sandbox (read-modify-write of its list and its chains), and
 * never during the engine's work (create, delete, reconcile rewrite chains from the store
 * too): the process-wide lock of server/core/lock.ts, holding the key `key` (a sandbox
 * id, or PORTS_KEY for the host-wide port table).
 */
export async function withSandboxLock<T>(app: Pick<App, "store">, key: string, fn: () => Promise<T>): Promise<T> {
  return withLock(app, [key], fn);
}

/** What one change does to the store, run inside the transaction that writes its audit row. */
interface Change<T> {
  action: string;
  target: string | null;
  input: unknown;
  /** The rule(s) before and after, for the audit row. */
  before: unknown;
  after: unknown;
  write: (tx: Db) => T;
  /** The whole list after the change (kept in the cache for the new revision). */
  rules: StoredRule[];
  /** Single-rule edits for the kernel (else the chains are rewritten whole). */
  edits?: string[];
  /** Chunk chains the kernel holds now and the new layout has not (removed by the rewrite). */
  drop?: string[];
}

/** The chunk chains of `before` that `after` no longer has. */
function chainsGone(sandboxId: string, before: readonly StoredRule[], after: readonly StoredRule[]): string[] {
  const now = new Set(sandboxChainNames({ id: sandboxId, rules: after }));
  return sandboxChainNames({ id: sandboxId, rules: before }).filter((chain) => !now.has(chain));
}

/**
 * What a single-rule edit sends: the edits when the chunks still fit (no chunk over
 * CHUNK_MAX, none emptied), else the rules laid out afresh (each direction's rule j in
 * chunk floor(j/100)) and a whole rewrite that also removes the chunk chains gone.
 */
function singleEdit(sandboxId: string, before: readonly StoredRule[], after: StoredRule[], edits: (rules: StoredRule[]) => string[]) {
  if (chunksStillFit(sandboxId, before, after)) return { rules: after, edits: edits(after), drop: [] as string[] };
  const laidOut = canonicalChunks(after);
  return { rules: laidOut, edits: undefined, drop: chainsGone(sandboxId, before, laidOut) };
}

/** Stores the chunk of every rule of `after` that `before` had in another chunk (after a fresh layout). */
function writeChunks(tx: Db, before: readonly StoredRule[], after: readonly StoredRule[]): void {
  const was = new Map(before.map((r) => [r.id, r.chunk]));
  for (const rule of after) {
    const chunk = was.get(rule.id);
    if (chunk !== undefined && chunk !== rule.chunk) tx.update(rules).set({ chunk: rule.chunk }).where(eq(rules.id, rule.id)).run();
  }
}

/**
 * True when the sandbox has chains in the kernel: a veth to the host (not isolated, not
 * adopted as it is). For the others rules and policy are kept in the store only; no
 * forwarded traffic reaches them.
 */
export function hasChains(sandbox: SandboxRow): boolean {
  return sandbox.mode !== "isolated" && !sandbox.adopted && !!sandbox.hostAddress && !!sandbox.address;
}

/**
 * Applies `spec` to the kernel, then commits `change` and its ok audit row in one store
 * transaction; on any failure writes an error audit row and rethrows.
 */
async function applyAndCommit<T>(app: RulesApp, actor: Actor, sandbox: SandboxRow, spec: SandboxFilterSpec, change: Change<T>): Promise<T> {
  const base = {
    user: actor.username,
    action: change.action,
    target: change.target,
    sandbox: sandbox.name,
    input: { input: change.input, before: change.before, after: change.after },
  };
  try {
    const wired = hasChains(sandbox);
    if (wired) await applySandboxFilter(app.runner, spec, change.edits, change.drop);
    let out: T;
    try {
      out = app.store.transaction((tx) => {
        const result = change.write(tx);
        tx.update(sandboxes)
          .set({ rulesRevision: sql`${sandboxes.rulesRevision} + 1` })
          .where(eq(sandboxes.id, sandbox.id))
          .run();
        writeAudit(tx, { ...base, result: "ok" });
        return result;
      });
    } catch (error) {
      // The kernel took the change but the store did not: put the kernel back as the store has it.
      if (wired) {
        const stored = filterSpecOf(app.store, sandbox);
        await applySandboxFilter(app.runner, stored, undefined, sandboxChainNames(spec)).catch(() => undefined);
      }
      throw error;
    }
    cacheOf(app.store).set(sandbox.id, { revision: sandbox.rulesRevision + 1, rules: change.rules.map((r, position) => (r.position === position ? r : { ...r, position })) });
    app.events.publish({ type: change.action, sandbox: sandbox.name, by: actor.username });
    return out;
  } catch (error) {
    writeAudit(app.store, { ...base, result: "error", error: (error as Error).message });
    throw error;
  }
}

/** Writes an error audit row for a refused try (not found, forbidden, conflict). */
function auditRefusal(store: Store, actor: Actor, action: string, sandbox: string, input: unknown, error: unknown): void {
  writeAudit(store, { user: actor.username, action, sandbox, target: null, input: { input }, result: "error", error: (error as Error).message });
}

async function mutate<T>(
  app: RulesApp,
  actor: Actor,
  action: string,
  name: string,
  input: unknown,
  fn: (sandbox: SandboxRow) => Promise<T>,
): Promise<T> {
  let sandbox: SandboxRow;
  try {
    sandbox = sandboxByName(app.store, name);
    assertCanChange(actor, sandbox);
  } catch (error) {
    auditRefusal(app.store, actor, action, name, input, error);
    throw error;
  }
  return withSandboxLock(app, sandbox.id, async () => {
    // Read again under the lock: the revision and policy may have moved while waiting.
    let fresh: SandboxRow;
    try {
      fresh = sandboxByName(app.store, name);
      if (fresh.id !== sandbox.id) throw new AppError("NOT_FOUND", `No sandbox ${name}`);
      assertSettled(fresh);
    } catch (error) {
      auditRefusal(app.store, actor, action, name, input, error);
      throw error;
    }
    return fn(fresh);
  });
}

/** A refusal found under the lock (bad position, unknown rule, stale revision): audited, thrown. */
function refuse(app: RulesApp, actor: Actor, action: string, sandbox: SandboxRow, input: unknown, error: AppError): never {
  auditRefusal(app.store, actor, action, sandbox.name, input, error);
  throw error;
}

/**
 * rule.list: the rules in order with live counters, the policy with its counters, the
 * revision; `inSync` says whether the kernel's chains equal what the store renders (from
 * the same read, so it costs nothing more). Sandboxes without chains read nothing.
 */
export async function listRules(app: RulesApp, name: string, options: { counters?: boolean } = {}) {
  const sandbox = sandboxByName(app.store, name);
  const ruleList = rulesOf(app.store, sandbox);
  const wired = hasChains(sandbox) && options.counters !== false;
  const counters = wired
    ? await readSandboxCounters(app.runner, sandbox.id)
    : { rules: new Map<string, { packets: number; bytes: number }>(), egressPolicy: null, ingressPolicy: null, savedRules: [] };
  const expected = wired ? renderedChainRules(filterSpecOf(app.store, sandbox, ruleList)) : [];
  return {
    revision: sandbox.rulesRevision,
    inSync: !wired ? null : counters.savedRules.length === expected.length && counters.savedRules.every((line, k) => line === expected[k]),
    policy: {
      egress: sandbox.policyEgress,
      ingress: sandbox.policyIngress,
      egressPackets: counters.egressPolicy?.packets ?? 0,
      ingressPackets: counters.ingressPolicy?.packets ?? 0,
      egressBytes: counters.egressPolicy?.bytes ?? 0,
      ingressBytes: counters.ingressPolicy?.bytes ?? 0,
    },
    rules: ruleList.map((rule) => {
      const counter = counters.rules.get(rule.id);
      return { ...ruleView(rule), packets: counter?.packets ?? 0, bytes: counter?.bytes ?? 0, inKernel: counter !== undefined };
    }),
  };
}

/** rule.add: inserts one rule at `position` (default last). */
export async function addRule(app: RulesApp, actor: Actor, input: z.output<typeof ruleAddSchema>): Promise<RuleView> {
  return mutate(app, actor, "rule.add", input.sandbox, input, async (sandbox) => {
    const before = rulesOf(app.store, sandbox);
    if (before.length >= MAX_RULES) {
      refuse(app, actor, "rule.add", sandbox, input, new AppError("LIMIT", `Sandbox ${sandbox.name} already holds ${MAX_RULES} rules`));
    }
    const position = input.position ?? before.length;
    if (position > before.length) {
      refuse(app, actor, "rule.add", sandbox, input, new AppError("INPUT_INVALID", `position must be 0-${before.length}`, { fieldErrors: { position: [`must be 0-${before.length} (the sandbox holds ${before.length} rules)`] } }));
    }
    const spec0 = ruleSpecOf(input);
    const dirIndex = before.slice(0, position).filter((r) => r.direction === spec0.direction).length;
    const rule: StoredRule = { id: newId("r"), position, ...spec0, chunk: chunkForInsert(before, spec0.direction, dirIndex) };
    const inserted = [...before];
    inserted.splice(position, 0, rule);
    const edit = singleEdit(sandbox.id, before, inserted, (list) => [renderRuleInsert(sandbox.id, filterSpecOf(app.store, sandbox, list).rules, rule.id)]);
    const stored = edit.rules.find((r) => r.id === rule.id)!;
    const view = ruleView(stored);
    return applyAndCommit(app, actor, sandbox, filterSpecOf(app.store, sandbox, edit.rules), {
      action: "rule.add",
      target: rule.id,
      input,
      before: null,
      after: view,
      rules: edit.rules,
      edits: edit.edits,
      drop: edit.drop,
      write: (tx) => {
        tx.update(rules)
          .set({ position: sql`${rules.position} + 1` })
          .where(and(eq(rules.sandboxId, sandbox.id), gte(rules.position, position)))
          .run();
        tx.insert(rules).values({ ...stored, sandboxId: sandbox.id }).run();
        writeChunks(tx, before, edit.rules);
        return view;
      },
    });
  });
}

/** rule.delete: removes one rule. */
export async function deleteRule(app: RulesApp, actor: Actor, input: { sandbox: string; id: string }): Promise<{ ok: true }> {
  return mutate(app, actor, "rule.delete", input.sandbox, input, async (sandbox) => {
    const before = rulesOf(app.store, sandbox);
    const rule = before.find((r) => r.id === input.id);
    if (!rule) refuse(app, actor, "rule.delete", sandbox, input, new AppError("NOT_FOUND", `Sandbox ${sandbox.name} has no rule ${input.id}`));
    const edit = singleEdit(sandbox.id, before, before.filter((r) => r.id !== input.id), () => [renderRuleDelete(sandbox.id, rule)]);
    return applyAndCommit(app, actor, sandbox, filterSpecOf(app.store, sandbox, edit.rules), {
      action: "rule.delete",
      target: rule.id,
      input,
      before: ruleView(rule),
      after: null,
      rules: edit.rules,
      edits: edit.edits,
      drop: edit.drop,
      write: (tx) => {
        tx.delete(rules).where(eq(rules.id, rule.id)).run();
        writeChunks(tx, before, edit.rules);
        tx.update(rules)
          .set({ position: sql`${rules.position} - 1` })
          .where(and(eq(rules.sandboxId, sandbox.id), gt(rules.position, rule.position)))
          .run();
        return { ok: true as const };
      },
    });
  });
}

/** rule.move: moves one rule so that it ends up at index `position` of the new order. */
export async function moveRule(app: RulesApp, actor: Actor, input: { sandbox: string; id: string; position: number }): Promise<RuleView> {
  return mutate(app, actor, "rule.move", input.sandbox, input, async (sandbox) => {
    const before = rulesOf(app.store, sandbox);
    const rule = before.find((r) => r.id === input.id);
    if (!rule) refuse(app, actor, "rule.move", sandbox, input, new AppError("NOT_FOUND", `Sandbox ${sandbox.name} has no rule ${input.id}`));
    if (input.position > before.length - 1) {
      refuse(app, actor, "rule.move", sandbox, input, new AppError("INPUT_INVALID", `position must be 0-${before.length - 1}`, { fieldErrors: { position: [`must be 0-${before.length - 1}`] } }));
    }
    const from = rule.position;
    const to = input.position;
    const without = before.filter((r) => r.id !== rule.id);
    const dirIndex = without.slice(0, to).filter((r) => r.direction === rule.direction).length;
    const placed: StoredRule = { ...rule, position: to, chunk: chunkForInsert(without, rule.direction, dirIndex) };
    const after = [...without];
    after.splice(to, 0, placed);
    const edit = singleEdit(sandbox.id, before, after, (list) => [
      renderRuleDelete(sandbox.id, rule),
      renderRuleInsert(sandbox.id, filterSpecOf(app.store, sandbox, list).rules, rule.id),
    ]);
    const stored = edit.rules.find((r) => r.id === rule.id)!;
    const moved = ruleView(stored);
    return applyAndCommit(app, actor, sandbox, filterSpecOf(app.store, sandbox, edit.rules), {
      action: "rule.move",
      target: rule.id,
      input,
      before: ruleView(rule),
      after: moved,
      rules: edit.rules,
      edits: edit.edits,
      drop: edit.drop,
      write: (tx) => {
        writeChunks(tx, before, edit.rules);
        if (to < from) {
          tx.update(rules)
            .set({ position: sql`${rules.position} + 1` })
            .where(and(eq(rules.sandboxId, sandbox.id), gte(rules.position, to), lt(rules.position, from)))
            .run();
        } else if (to > from) {
          tx.update(rules)
            .set({ position: sql`${rules.position} - 1` })
            .where(and(eq(rules.sandboxId, sandbox.id), gt(rules.position, from), lte(rules.position, to)))
            .run();
        }
        tx.update(rules).set({ position: to, chunk: stored.chunk }).where(eq(rules.id, rule.id)).run();
        return moved;
      },
    });
  });
}

/** rule.replaceAll: the whole list in one change; CONFLICT if the revision moved on. */
export async function replaceAllRules(app: RulesApp, actor: Actor, input: z.output<typeof ruleReplaceAllSchema>) {
  return mutate(app, actor, "rule.replaceAll", input.sandbox, input, async (sandbox) => {
    if (sandbox.rulesRevision !== input.revision) {
      refuse(app, actor, "rule.replaceAll", sandbox, input, new AppError(
        "CONFLICT",
        `The rules of ${sandbox.name} changed since revision ${input.revision} (now ${sandbox.rulesRevision}): read them again and retry`,
        { revision: sandbox.rulesRevision },
      ));
    }
    const before = rulesOf(app.store, sandbox);
    const after = canonicalChunks(input.rules.map((r, position): StoredRule => ({ id: newId("r"), position, ...ruleSpecOf(r), chunk: 0 })));
    const views = after.map(ruleView);
    await applyAndCommit(app, actor, sandbox, filterSpecOf(app.store, sandbox, after), {
      action: "rule.replaceAll",
      target: null,
      input: { sandbox: input.sandbox, revision: input.revision, count: input.rules.length },
      before: before.map(ruleView),
      after: views,
      rules: after,
      drop: chainsGone(sandbox.id, before, after),
      write: (tx) => {
        tx.delete(rules).where(eq(rules.sandboxId, sandbox.id)).run();
        // Chunks keep each INSERT under SQLite's bound-parameter limit.
        for (let k = 0; k < after.length; k += 500) {
          tx.insert(rules).values(after.slice(k, k + 500).map((r) => ({ ...r, sandboxId: sandbox.id }))).run();
        }
      },
    });
    const now = sandboxByName(app.store, input.sandbox);
    return { revision: now.rulesRevision, rules: views };
  });
}

/**
 * sandbox.setPolicy: what happens to forwarded traffic no rule matched, per direction.
 * Rewrites the sandbox's chains (with its rules) and bumps the rules revision. The
 * sandbox router's `setPolicy` calls this; input is `{name, egress?, ingress?}`.
 */
export async function setPolicy(app: RulesApp, actor: Actor, input: z.output<typeof setPolicySchema>) {
  return mutate(app, actor, "sandbox.setPolicy", input.name, input, async (sandbox) => {
    const policy = { egress: input.egress ?? sandbox.policyEgress, ingress: input.ingress ?? sandbox.policyIngress };
    const updated = { ...sandbox, policyEgress: policy.egress, policyIngress: policy.ingress };
    const list = rulesOf(app.store, sandbox);
    await applyAndCommit(app, actor, sandbox, filterSpecOf(app.store, updated, list), {
      action: "sandbox.setPolicy",
      target: sandbox.name,
      input,
      before: { egress: sandbox.policyEgress, ingress: sandbox.policyIngress },
      after: policy,
      rules: list,
      write: (tx) => {
        tx.update(sandboxes).set({ policyEgress: policy.egress, policyIngress: policy.ingress }).where(eq(sandboxes.id, sandbox.id)).run();
      },
    });
    return { name: sandbox.name, policy };
  });
}
