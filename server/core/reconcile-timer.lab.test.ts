/**
 * Reconcile on its timer (NSLAB_RECONCILE_SECONDS), as the console runs it after start:
 * a veth deleted by hand comes back without anyone asking, and the repair is announced;
 * a published port flushed by hand comes back too.
 *   node scripts/lab/enter.mjs -- npx vitest run --project lab server/core/reconcile-timer.lab.test.ts
 */
import { afterAll, expect, it } from "vitest";
import { lab, requireLab } from "../../test-support/lab";
import { labRun, makeApp } from "../../test-support/engine-lab";
import { probe } from "../net/rules-lab-probe";
import { hostIfName } from "../net/names";
import { startEngine, stopEngine } from "./reconcile";
import { createSandboxes, deleteSandboxes, getSandbox } from "./sandboxes";
import type { ChangeEvent } from "./events";
import { addPort } from "./ports";

requireLab();

const app = makeApp({ NSLAB_RECONCILE_SECONDS: "1" });
const admin = { username: "admin", role: "admin" as const };

afterAll(async () => {
  stopEngine(app);
  await deleteSandboxes(app, admin, ["timed"]);
  app.store.$client.close();
});

it("the timer repairs a veth deleted by hand and publishes the drift and the repair", async () => {
  await startEngine(app);
  const [s] = await createSandboxes(app, admin, [{ name: "timed" }]);
  const events: ChangeEvent[] = [];
  const ac = new AbortController();
  const watching = (async () => {
    for await (const e of app.events.subscribe(ac.signal)) events.push(e);
  })();
  await labRun("ip", ["link", "del", hostIfName(s!.id)]);
  // Wait for the outcome (a repaired sandbox), not for a time: the deadline only bounds a hang.
  let status = "";
  for (let i = 0; i < 300 && status !== "ok"; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (events.some((e) => e.type === "sandbox.repaired" && e.sandbox === "timed")) status = (await getSandbox(app, "timed")).status;
  }
  ac.abort();
  await watching;
  expect(status).toBe("ok");
  expect(events.find((e) => e.type === "sandbox.drift" && e.sandbox === "timed")?.by).toBe("system");
  expect(await probe("timed", lab.worldAddr, lab.worldPort)).toEqual({ kind: "ok", body: lab.uplinkAddr });
});

it("the timer rewrites NSLAB-PORTS flushed by hand", async () => {
  const p = await addPort(app, admin, { sandbox: "timed", protocol: "tcp", hostPort: 18095, sandboxPort: 80 });
  const portLines = async () => (await labRun("iptables-save", ["-t", "nat"])).split("\n").filter((l) => l.startsWith("-A NSLAB-PORTS "));
  const before = await portLines();
  expect(before.join("\n")).toContain(`port:${p.id}`);
  await labRun("iptables", ["-t", "nat", "-F", "NSLAB-PORTS"]);
  // Wait for the outcome; the bound only ends a hang.
  let after: string[] = [];
  for (let i = 0; i < 300 && after.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await portLines();
  }
  expect(after).toEqual(before);
});
