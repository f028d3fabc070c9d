/**
 * The process-wide lock (server/core/lock.ts) as the engine, the rules and the ports use
 * it: rule/policy/port changes never run during the engine's work (nor it during theirs),
 * the lock is shared by every copy of the modules (Next loads them once per bundle), and
 * the engine may call rules/ports code while holding it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { log } from "../log";
import { openStore, type Store } from "../store/db";
import { sandboxes } from "../store/schema";
import { EventBus } from "./events";
import type { Command, CommandResult, Runner } from "../net/runner";
import { ruleAddSchema } from "../net/rules-input";
import { addRule, loadRules, type Actor } from "./rules";
import { addPort, syncPorts } from "./ports";
import { exclusive } from "./sandboxes";
import { lockQueue, PORTS_KEY, withLock } from "./lock";

const alice: Actor = { username: "alice", role: "operator" };

/** A runner for pure tests that records commands and can hold iptables-restore until released. */
class GateRunner implements Runner {
  readonly log: string[] = [];
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;
  /** Resolves when a restore has reached the gate. */
  reached: Promise<void> = Promise.resolve();
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
    let reached!: () => void;
    this.reached = new Promise((resolve) => (reached = resolve));
    this.onRestore = reached;
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  private onRestore: () => void = () => undefined;
  async run(command: Command): Promise<CommandResult> {
    if (command.argv[0] === "iptables-restore" && this.gate) {
      this.onRestore();
      await this.gate;
    }
    this.log.push(command.argv[0]!);
    return { stdout: "", stderr: "" };
  }
}

let store: Store;
let runner: GateRunner;
let app: { store: Store; runner: GateRunner; events: EventBus };

/** Resolves once `predicate` holds, checking after each turn of the event loop (no clock). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

/** A gate that the test opens. */
function gate() {
  let open!: () => void;
  const closed = new Promise<void>((resolve) => (open = resolve));
  return { closed, open };
}

beforeAll(() => {
  log.level = "silent";
});

beforeEach(() => {
  store = openStore(fs.mkdtempSync(path.join(os.tmpdir(), "nslab-lock-")));
  runner = new GateRunner();
  app = { store, runner, events: new EventBus() };
  store.insert(sandboxes).values({ id: "sweb000000", name: "web", owner: "alice", mode: "nat", nat: true, subnet: "10.200.0.0/30", hostAddress: "10.200.0.1", address: "10.200.0.2", state: "ready", createdAt: new Date().toISOString() }).run();
});

const addDrop = () => addRule(app, alice, ruleAddSchema.parse({ sandbox: "web", direction: "egress", action: "drop" }));

describe("the engine and rule/port changes share one lock", () => {
  it("a rule change asked for during the engine's work runs after it", async () => {
    const order: string[] = [];
    const engineGate = gate();
    const engine = exclusive(app, async () => {
      await engineGate.closed;
      order.push("engine done");
    });
    const change = addDrop().then(() => order.push("rule applied"));
    // Open the engine's gate once the change has either finished or is seen waiting.
    await Promise.race([change, until(() => lockQueue(app).waiting.includes("sweb000000"))]);
    engineGate.open();
    await Promise.all([engine, change]);
    expect(order).toEqual(["engine done", "rule applied"]);
  });

  it("the engine's work asked for during a rule change in flight runs after it", async () => {
    const order: string[] = [];
    runner.hold();
    const change = addDrop().then(() => order.push("rule applied"));
    await runner.reached; // the change holds its lock, its restore is at the gate
    const engine = exclusive(app, async () => {
      order.push(`engine ran, ${loadRules(store, "sweb000000").length} rule(s) in the store`);
    });
    await Promise.race([engine, until(() => lockQueue(app).waiting.includes("*"))]);
    runner.release();
    await Promise.all([engine, change]);
    expect(order[0]).toBe("engine ran, 1 rule(s) in the store"); // the change had committed
  });

  it("a port change waits for the engine too (its delete rewrites NSLAB-PORTS)", async () => {
    const order: string[] = [];
    const engineGate = gate();
    const engine = exclusive(app, async () => {
      await engineGate.closed;
      order.push("engine done");
    });
    const port = addPort(app, alice, { sandbox: "web", protocol: "tcp", hostPort: 8081, sandboxPort: 80 }, () => new Set()).then(() => order.push("port applied"));
    await Promise.race([port, until(() => lockQueue(app).waiting.includes(PORTS_KEY))]);
    engineGate.open();
    await Promise.all([engine, port]);
    expect(order).toEqual(["engine done", "port applied"]);
  });

  it("changes of different sandboxes do not wait for each other; the same key does", async () => {
    const first = gate();
    const order: string[] = [];
    const a = withLock(app, ["s1"], async () => {
      await first.closed;
      order.push("s1");
    });
    await withLock(app, ["s2"], async () => {
      order.push("s2");
    });
    const again = withLock(app, ["s1"], async () => {
      order.push("s1 again");
    });
    await until(() => lockQueue(app).waiting.includes("s1"));
    first.open();
    await Promise.all([a, again]);
    expect(order).toEqual(["s2", "s1", "s1 again"]);
  });

  it("the engine may call ports code while holding the lock (no deadlock), and a nested hold it does not cover is refused", async () => {
    const synced = await exclusive(app, () => syncPorts(app));
    expect(synced).toEqual({ repaired: false });
    await expect(withLock(app, ["s1"], () => withLock(app, ["s2"], async () => 1))).rejects.toThrow(/lock order/);
    await expect(withLock(app, ["s1"], () => withLock(app, "all", async () => 1))).rejects.toThrow(/lock order/);
    expect(lockQueue(app)).toEqual({ waiting: [], holding: [] });
  });

  it("is one lock for every copy of the modules in the process (Next loads them once per bundle)", async () => {
    vi.resetModules();
    const other = await import("./rules");
    const otherEngine = await import("./sandboxes");
    expect(other.addRule).not.toBe(addRule); // a second copy of the module, as in another bundle
    const order: string[] = [];
    const held = gate();
    const first = otherEngine.exclusive(app, async () => {
      await held.closed;
      order.push("engine (copy 2)");
    });
    const change = addDrop();
    const second = other.withSandboxLock(app, "sweb000000", async () => {
      order.push(`rule lock (copy 2), ${loadRules(store, "sweb000000").length} rule(s) in the store`);
    });
    await Promise.race([Promise.all([change, second]), until(() => lockQueue(app).waiting.length >= 2)]);
    held.open();
    await Promise.all([first, change, second]);
    expect(order).toEqual(["engine (copy 2)", "rule lock (copy 2), 1 rule(s) in the store"]);
  });
});
