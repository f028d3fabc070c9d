import { and, asc, eq, ne } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../store/db";
import { ports, sandboxes } from "../store/schema";
import { AppError } from "../errors";
import { writeAudit } from "./audit";
import { assertCanChange, assertSettled, newId, sandboxByName, withSandboxLock, type Actor, type RulesApp, type SandboxRow } from "./rules";
import type { portAddSchema } from "../net/rules-input";
import { listeningPorts, renderPortsChain, type PortSpec } from "../net/ports-nat";
import { applyPorts, readPortRules } from "../net/rules-apply";
import { log } from "../log";
import { PORTS_KEY } from "./lock";

/**
 * Published ports (API.md "Published ports"): DNAT from a host port to a sandbox port in
 * the shared nat chain NSLAB-PORTS (server/net/ports-nat.ts), let through the sandbox's
 * ingress chain whatever its policy (`--ctstate DNAT`). NSLAB-PORTS is rewritten whole
 * from the store in one nat transaction under one host-wide lock.
 */

export interface PortView {
  id: string;
  protocol: "tcp" | "udp";
  hostPort: number;
  sandboxPort: number;
}

/**
 * Every published port on the host as the renderer needs it, optionally without one
 * sandbox's (for its deletion). Ports of sandboxes without an address (isolated) are
 * left out: there is nowhere to forward to.
 */
export function portSpecs(db: Db, withoutSandboxId?: string): PortSpec[] {
  const rows = db
    .select({ port: ports, address: sandboxes.address })
    .from(ports)
    .innerJoin(sandboxes, eq(ports.sandboxId, sandboxes.id))
    .where(withoutSandboxId ? ne(ports.sandboxId, withoutSandboxId) : undefined)
    .all();
  return rows
    .filter((r) => r.address)
    .map((r) => ({ ...r.port, address: r.address! }));
}

/**
 * For the sandbox engine: the nat lines (without `*nat`/`COMMIT`) that rewrite
 * NSLAB-PORTS without sandbox `sandboxId`'s ports. Put them in the deletion's nat
 * transaction (call before the sandbox's store row goes: its ports cascade with it).
 */
export function natLinesWithoutSandbox(db: Db, sandboxId: string): string[] {
  return renderPortsChain(portSpecs(db, sandboxId));
}

/** For the sandbox engine (create/reconcile): the nat lines of every published port. */
export function natLinesOfAllPorts(db: Db): string[] {
  return renderPortsChain(portSpecs(db));
}

/** port.list: a sandbox's published ports. */
export function listPorts(db: Db, name: string): PortView[] {
  const sandbox = sandboxByName(db, name);
  return db
    .select({ id: ports.id, protocol: ports.protocol, hostPort: ports.hostPort, sandboxPort: ports.sandboxPort })
    .from(ports)
    .where(eq(ports.sandboxId, sandbox.id))
    .orderBy(asc(ports.protocol), asc(ports.hostPort))
    .all();
}

async function portChange<T>(
  app: RulesApp,
  actor: Actor,
  action: string,
  name: string,
  input: unknown,
  fn: (sandbox: SandboxRow) => { target: string; before: unknown; after: unknown; specs: PortSpec[]; write: (tx: Db) => T },
): Promise<T> {
  const fail = (error: unknown) => {
    writeAudit(app.store, { user: actor.username, action, sandbox: name, input: { input }, result: "error", error: (error as Error).message });
    throw error;
  };
  try {
    const sandbox = sandboxByName(app.store, name);
    assertCanChange(actor, sandbox);
  } catch (error) {
    fail(error);
  }
  return withSandboxLock(app, PORTS_KEY, async () => {
    let plan: ReturnType<typeof fn>;
    try {
      const sandbox = sandboxByName(app.store, name);
      assertSettled(sandbox);
      plan = fn(sandbox);
      await applyPorts(app.runner, plan.specs);
    } catch (error) {
      return fail(error);
    }
    let out: T;
    try {
      out = app.store.transaction((tx) => {
        const result = plan.write(tx);
        writeAudit(tx, {
          user: actor.username,
          action,
          sandbox: name,
          target: plan.target,
          input: { input, before: plan.before, after: plan.after },
          result: "ok",
        });
        return result;
      });
    } catch (error) {
      // The kernel took the change but the store did not: put NSLAB-PORTS back as the store has it.
      await applyPorts(app.runner, portSpecs(app.store)).catch(() => undefined);
      return fail(error);
    }
    app.events.publish({ type: action, sandbox: name, by: actor.username });
    return out;
  });
}

/**
 * port.add: CONFLICT when the host port is already published (by any sandbox) or a
 * program on the host listens on it (the console's own port included).
 */
export async function addPort(
  app: RulesApp,
  actor: Actor,
  input: z.output<typeof portAddSchema>,
  bound: (protocol: "tcp" | "udp") => Set<number> = listeningPorts,
): Promise<PortView> {
  return portChange(app, actor, "port.add", input.sandbox, input, (sandbox) => {
    if (!sandbox.address) {
      throw new AppError("INPUT_INVALID", `Sandbox ${sandbox.name} has no address (mode ${sandbox.mode}): there is nothing to forward to`, {
        fieldErrors: { sandbox: ["has no address to forward to"] },
      });
    }
    const taken = app.store
      .select({ name: sandboxes.name })
      .from(ports)
      .innerJoin(sandboxes, eq(ports.sandboxId, sandboxes.id))
      .where(and(eq(ports.protocol, input.protocol), eq(ports.hostPort, input.hostPort)))
      .get();
    if (taken) {
      throw new AppError("CONFLICT", `Host port ${input.protocol}/${input.hostPort} is already published to sandbox ${taken.name}`, {
        fieldErrors: { hostPort: ["already published"] },
      });
    }
    if (bound(input.protocol).has(input.hostPort)) {
      throw new AppError("CONFLICT", `Host port ${input.protocol}/${input.hostPort} is in use by a program on the host`, {
        fieldErrors: { hostPort: ["in use on the host"] },
      });
    }
    const port: PortView = { id: newId("p"), protocol: input.protocol, hostPort: input.hostPort, sandboxPort: input.sandboxPort };
    return {
      target: port.id,
      before: null,
      after: port,
      specs: [...portSpecs(app.store), { ...port, sandboxId: sandbox.id, address: sandbox.address }],
      write: (tx) => {
        tx.insert(ports).values({ ...port, sandboxId: sandbox.id }).run();
        return port;
      },
    };
  });
}

/** port.delete: stops forwarding one port. */
export async function deletePort(app: RulesApp, actor: Actor, input: { sandbox: string; id: string }): Promise<{ ok: true }> {
  return portChange(app, actor, "port.delete", input.sandbox, input, (sandbox) => {
    const row = app.store.select().from(ports).where(and(eq(ports.id, input.id), eq(ports.sandboxId, sandbox.id))).get();
    if (!row) throw new AppError("NOT_FOUND", `Sandbox ${sandbox.name} has no published port ${input.id}`);
    const before: PortView = { id: row.id, protocol: row.protocol, hostPort: row.hostPort, sandboxPort: row.sandboxPort };
    return {
      target: row.id,
      before,
      after: null,
      specs: portSpecs(app.store).filter((p) => p.id !== row.id),
      write: (tx) => {
        tx.delete(ports).where(eq(ports.id, row.id)).run();
        return { ok: true as const };
      },
    };
  });
}

/**
 * Makes NSLAB-PORTS hold exactly the store's published ports (after a reboot, a hand
 * flush, a crash between apply and commit): one read of the nat table, and a rewrite
 * only when it differs. Called at start-up after the engine's first reconcile (which
 * creates the chain and its jumps); the engine's reconcile may call it too.
 */
export async function syncPorts(app: RulesApp): Promise<{ repaired: boolean }> {
  return withSandboxLock(app, PORTS_KEY, async () => {
    const specs = portSpecs(app.store);
    const want = renderPortsChain(specs).slice(1);
    const have = await readPortRules(app.runner);
    if (have.length === want.length && have.every((line, k) => line === want[k])) return { repaired: false };
    await applyPorts(app.runner, specs);
    log.info({ had: have.length, want: want.length }, "published ports rewritten to match the store");
    return { repaired: true };
  });
}
