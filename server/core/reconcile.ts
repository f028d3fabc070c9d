/**
 * Reconcile: compares the kernel with the store and repairs what nslab owns (published
 * ports included: NSLAB-PORTS is rewritten when it differs). Runs at start (forced: the
 * fixed base chains are rewritten), on `host.reconcile`, and every NSLAB_RECONCILE_SECONDS. It recreates what is missing, finishes what a crash left
 * `creating` or `deleting`, removes nslab-marked objects the store does not want, and
 * never touches anything unmarked. Drift is reported per sandbox and as events.
 */
import { eq, inArray } from "drizzle-orm";
import type { App } from "../app";
import { AppError } from "../errors";
import { log } from "../log";
import { sandboxes } from "../store/schema";
import { writeAudit } from "./audit";
import { engineOf, exclusive, specOf, type EngineApp, type SandboxRow } from "./sandboxes";
import { observe } from "../net/observe";
import { apply } from "../net/apply";
import { planDelete, planReconcile } from "../net/plan";
import { renderPortsChain } from "../net/ports-nat";
import { portSpecs } from "./ports";

export interface ReconcileReport {
  repaired: { sandbox: string; what: string }[];
  removed: { object: string; what: string }[];
  drift: { sandbox: string; problems: string[] }[];
  /** Repairs of the base layout (chains, jumps, ip_forward). */
  base: string[];
  /** Sandboxes a crash left half-deleted, now gone. */
  finishedDeletes: string[];
  /** Published ports: NSLAB-PORTS rewritten because it differed from the store. */
  ports: string[];
}

/** One reconcile pass. `by` names who asked (a user, or "system"). */
export async function reconcile(app: EngineApp, options: { by: string; force?: boolean }): Promise<ReconcileReport> {
  const engine = engineOf(app);
  return exclusive(app, async () => {
    const observed = await observe(app.runner);
    const rows = app.store.select().from(sandboxes).all();
    const free = rows.filter((r) => !engine.inFlight.has(r.id));
    const deleting = free.filter((r) => (r.state as string) === "deleting");
    const desired = free.filter((r) => (r.state as string) !== "deleting");
    const finish = new Set(desired.filter((r) => r.state === "creating").map((r) => r.id));
    const keep = new Set([...engine.inFlight, ...deleting.map((r) => r.id)]);
    const keepNames = new Set([...rows.filter((r) => keep.has(r.id)).map((r) => r.name)]);
    // Every published port, but those of sandboxes being deleted here.
    const deletingIds = new Set(deleting.map((r) => r.id));
    const portLines = renderPortsChain(portSpecs(app.store).filter((p) => !deletingIds.has(p.sandboxId))).filter((l) => !l.startsWith(":"));
    const plan = planReconcile(
      desired.map((r) => specOf(app.store, r)),
      observed,
      { keep, keepNames, finish, force: options.force ?? false, ports: portLines },
    );
    const deleteSteps = deleting.length ? planDelete(deleting.map((r) => specOf(app.store, r)), observed) : [];
    const report: ReconcileReport = {
      repaired: plan.repaired,
      removed: plan.removed,
      drift: [...plan.drift].map(([sandbox, problems]) => ({ sandbox, problems })),
      base: plan.base,
      finishedDeletes: deleting.map((r) => r.name),
      ports: plan.ports,
    };
    const byName = new Map(desired.map((r) => [r.name, r] as const));
    try {
      await apply(app.runner, [...deleteSteps, ...plan.steps]);
      engine.baseVerified = true;
    } catch (error) {
      engine.baseVerified = false;
      const message = error instanceof AppError ? error.message : String(error);
      for (const { sandbox } of plan.repaired) {
        const row = byName.get(sandbox);
        if (row) engine.errors.set(row.id, `repair failed: ${message}`);
      }
      for (const { sandbox } of plan.repaired) app.events.publish({ type: "sandbox.error", sandbox, by: options.by });
      throw error;
    }
    // What was repaired is in order now (the repair succeeded).
    for (const { sandbox } of plan.repaired) {
      const row = byName.get(sandbox);
      if (row) engine.errors.delete(row.id);
    }
    const finished: SandboxRow[] = desired.filter((r) => finish.has(r.id));
    if (finished.length || deleting.length || plan.repaired.length || plan.removed.length || plan.ports.length) {
      app.store.transaction((tx) => {
        if (finished.length) tx.update(sandboxes).set({ state: "ready" }).where(inArray(sandboxes.id, finished.map((r) => r.id))).run();
        for (const row of finished) {
          writeAudit(tx, { user: options.by, action: "sandbox.create.finish", target: row.name, sandbox: row.name, input: { name: row.name }, result: "ok" });
        }
        for (const row of deleting) {
          tx.delete(sandboxes).where(eq(sandboxes.id, row.id)).run();
          writeAudit(tx, { user: options.by, action: "sandbox.delete.finish", target: row.name, sandbox: row.name, input: { name: row.name }, result: "ok" });
        }
        for (const r of plan.repaired) {
          if (finish.has(byName.get(r.sandbox)?.id ?? "")) continue;
          writeAudit(tx, { user: options.by, action: "sandbox.repair", target: r.sandbox, sandbox: r.sandbox, input: { what: r.what }, result: "ok" });
        }
        if (plan.removed.length) {
          writeAudit(tx, { user: options.by, action: "host.reconcile.remove", target: null, sandbox: null, input: { removed: plan.removed }, result: "ok" });
        }
        if (plan.ports.length) {
          writeAudit(tx, { user: options.by, action: "host.reconcile.ports", target: null, sandbox: null, input: { ports: plan.ports }, result: "ok" });
        }
      });
    }
    for (const { sandbox } of report.drift) app.events.publish({ type: "sandbox.drift", sandbox, by: options.by });
    for (const { sandbox } of plan.repaired) app.events.publish({ type: "sandbox.repaired", sandbox, by: options.by });
    for (const name of report.finishedDeletes) app.events.publish({ type: "sandbox.delete", sandbox: name, by: options.by });
    if (plan.removed.length || plan.base.length || plan.ports.length) app.events.publish({ type: "host.reconcile", by: options.by });
    if (report.repaired.length || report.removed.length || report.base.length || report.finishedDeletes.length || report.ports.length) {
      log.info({ report }, "reconcile changed the host");
    }
    return report;
  });
}

/**
 * Start-up: the first reconcile (forced, so the base layout is re-asserted and the fixed
 * chains rewritten), then one every NSLAB_RECONCILE_SECONDS (0: never). Set
 * NSLAB_ENGINE=off to run the console without touching the network at all.
 */
export async function startEngine(app: App): Promise<void> {
  if (app.config.NSLAB_ENGINE === "off") {
    log.warn("NSLAB_ENGINE=off: the sandbox engine does not touch the network");
    return;
  }
  try {
    await reconcile(app, { by: "system", force: true });
  } catch (error) {
    log.error({ err: error }, "the start-up reconcile failed");
  }
  const engine = engineOf(app);
  const seconds = app.config.NSLAB_RECONCILE_SECONDS;
  if (seconds > 0 && !engine.timer) {
    engine.timer = setInterval(() => {
      reconcile(app, { by: "system" }).catch((error) => log.error({ err: error }, "reconcile failed"));
    }, seconds * 1000);
    engine.timer.unref();
  }
}

/** Stops the timer (tests). */
export function stopEngine(app: Pick<App, "store">): void {
  const engine = engineOf(app);
  if (engine.timer) clearInterval(engine.timer);
  engine.timer = null;
}
