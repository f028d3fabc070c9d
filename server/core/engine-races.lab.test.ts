/**
 * The engine's work and rule/port changes racing each other in the private lab: they
 * share one lock (server/core/lock.ts), so neither rewrites the kernel from a store it
 * read before the other's change. A runner holds one chosen command at a gate so the
 * other operation is asked for while the first is half-way.
 *   node scripts/lab/enter.mjs -- npx vitest run --project lab server/core/engine-races.lab.test.ts
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { requireLab } from "../../test-support/lab";
import { labRun, makeApp } from "../../test-support/engine-lab";
import { ExecaRunner, type Command, type CommandResult, type Runner } from "../net/runner";
import { renderPortsChain, savedPortRules } from "../net/ports-nat";
import { renderedChainRules, savedChainRules } from "../net/sandbox-chains";
import { egressChain } from "../net/names";
import { ruleAddSchema } from "../net/rules-input";
import { reconcile } from "./reconcile";
import { createSandboxes, deleteSandboxes } from "./sandboxes";
import { addRule, filterSpecOf, sandboxByName } from "./rules";
import { addPort, portSpecs } from "./ports";
import { lockQueue, PORTS_KEY } from "./lock";

requireLab();

/** A real runner that can hold the first command matching a predicate until released. */
class GateRunner implements Runner {
  private readonly inner = new ExecaRunner();
  private match: ((c: Command) => boolean) | null = null;
  private open: () => void = () => undefined;
  private signal: () => void = () => undefined;
  reached: Promise<void> = Promise.resolve();
  hold(match: (c: Command) => boolean): void {
    this.match = match;
    this.reached = new Promise((resolve) => (this.signal = resolve));
  }
  release(): void {
    this.open();
  }
  async run(command: Command): Promise<CommandResult> {
    if (this.match?.(command)) {
      this.match = null;
      const gate = new Promise<void>((resolve) => (this.open = resolve));
      this.signal();
      await gate;
    }
    return this.inner.run(command);
  }
}

const app = makeApp();
const runner = new GateRunner();
(app as { runner: Runner }).runner = runner;
const admin = { username: "admin", role: "admin" as const };
const isRestore = (c: Command) => c.argv[0] === "iptables-restore";

/** Resolves once `predicate` holds, checked after each turn of the event loop (no clock). */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  await reconcile(app, { by: "system", force: true });
  await createSandboxes(app, admin, [{ name: "race1" }, { name: "race2" }, { name: "race3" }]);
});

afterAll(async () => {
  const names = ["race1", "race2", "race3"];
  await deleteSandboxes(app, admin, names);
  app.store.$client.close();
});

it("a port added while a delete rewrites NSLAB-PORTS is not lost", async () => {
  await addPort(app, admin, { sandbox: "race1", protocol: "tcp", hostPort: 18081, sandboxPort: 80 });
  // The delete's fast path rewrites NSLAB-PORTS without race1's port: hold that restore.
  runner.hold((c) => isRestore(c) && (c.input ?? "").includes(":NSLAB-PORTS"));
  const deleting = deleteSandboxes(app, admin, ["race1"]);
  await runner.reached;
  const adding = addPort(app, admin, { sandbox: "race2", protocol: "tcp", hostPort: 18082, sandboxPort: 80 });
  await Promise.race([adding, until(() => lockQueue(app).waiting.includes(PORTS_KEY))]);
  runner.release();
  await Promise.all([deleting, adding]);
  const kernel = savedPortRules(await labRun("iptables-save", ["-t", "nat"]));
  expect(kernel).toEqual(renderPortsChain(portSpecs(app.store)).slice(1));
  expect(kernel.join("\n")).toContain("--dport 18082");
  expect(kernel.join("\n")).not.toContain("--dport 18081");
});

it("a rule added while reconcile repairs the sandbox's chains is in the kernel afterwards", async () => {
  const row = sandboxByName(app.store, "race3");
  await labRun("iptables", ["-F", egressChain(row.id)]); // drift: reconcile will rewrite the chains
  runner.hold((c) => isRestore(c) && (c.input ?? "").includes(`:${egressChain(row.id)} `));
  const repairing = reconcile(app, { by: "system" });
  await runner.reached;
  const adding = addRule(app, admin, ruleAddSchema.parse({ sandbox: "race3", direction: "egress", action: "drop", protocol: "udp", ports: "53" }));
  await Promise.race([adding, until(() => lockQueue(app).waiting.includes(row.id))]);
  runner.release();
  const [report] = await Promise.all([repairing, adding]);
  expect(report.repaired.map((r) => r.sandbox)).toContain("race3");
  const fresh = sandboxByName(app.store, "race3");
  const saved = await labRun("iptables-save", ["-t", "filter"]);
  expect(savedChainRules(saved, row.id)).toEqual(renderedChainRules(filterSpecOf(app.store, fresh)));
  expect(savedChainRules(saved, row.id).join("\n")).toContain("--dport 53");
});
