// Runs inside the private network+mount namespace made by enter.mjs: mounts fresh
// tmpfs over /run/netns and /etc/netns (so `ip netns` here never sees or touches the
// host's), brings loopback up, builds the simulated outside world, then runs the
// command given after "--" and exits with its code.
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LAB } from "./constants.mjs";
import { killLabLeftovers } from "./leftovers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const run = (file, ...args) => execa(file, args, { stdio: ["ignore", "inherit", "inherit"] });

async function setUp() {
  await run("mount", "--make-rprivate", "/");
  for (const dir of ["/run/netns", "/etc/netns"]) {
    await run("mkdir", "-p", dir);
    await run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", dir);
  }
  await run("ip", "link", "set", "lo", "up");
  // The outside world: a namespace joined to the lab root by a veth named like an uplink.
  await run("ip", "netns", "add", LAB.worldNetns);
  await run("ip", "link", "add", LAB.uplinkIf, "type", "veth", "peer", "name", LAB.worldIf, "netns", LAB.worldNetns);
  await run("ip", "addr", "add", `${LAB.uplinkAddr}/${LAB.prefix}`, "dev", LAB.uplinkIf);
  await run("ip", "link", "set", LAB.uplinkIf, "up");
  await run("ip", "-n", LAB.worldNetns, "link", "set", "lo", "up");
  await run("ip", "-n", LAB.worldNetns, "addr", "add", `${LAB.worldAddr}/${LAB.prefix}`, "dev", LAB.worldIf);
  await run("ip", "-n", LAB.worldNetns, "link", "set", LAB.worldIf, "up");
  await run("ip", "route", "add", "default", "via", LAB.worldAddr);
  // Routed (non-NAT) sandboxes answer from their own address: the world routes the pool back.
  await run("ip", "-n", LAB.worldNetns, "route", "add", LAB.pool, "via", LAB.uplinkAddr);
}

function startWorldServer() {
  const server = execa("ip", ["netns", "exec", LAB.worldNetns, process.execPath, path.join(here, "world-server.mjs"), String(LAB.worldPort)], {
    stdio: ["ignore", "ignore", "inherit"],
    reject: false,
  });
  return server;
}

async function waitForWorld() {
  for (let i = 0; i < 100; i++) {
    const probe = await execa("ip", ["netns", "exec", LAB.worldNetns, process.execPath, "-e",
      `require("http").get("http://${LAB.worldAddr}:${LAB.worldPort}/",r=>process.exit(r.statusCode===200?0:1)).on("error",()=>process.exit(1))`], { reject: false });
    if (probe.exitCode === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the world server did not start");
}

const sep = process.argv.indexOf("--");
const command = sep >= 0 ? process.argv.slice(sep + 1) : [];
if (command.length === 0) {
  console.error("usage: node scripts/lab/enter.mjs -- COMMAND [ARG...]");
  process.exit(2);
}

await setUp();
const world = startWorldServer();
await waitForWorld();
const env = {
  NSLAB_LAB: "1",
  LAB_UPLINK_IF: LAB.uplinkIf,
  LAB_UPLINK_ADDR: LAB.uplinkAddr,
  LAB_WORLD_ADDR: LAB.worldAddr,
  LAB_WORLD_NETNS: LAB.worldNetns,
  LAB_WORLD_PORT: String(LAB.worldPort),
};
const child = await execa(command[0], command.slice(1), { stdio: "inherit", reject: false, env });
world.kill("SIGTERM");
await world;
// Programs started detached inside sandboxes outlive the test that made them: end them
// with the lab, or they would keep its namespaces (and a port) alive.
const leftovers = await killLabLeftovers();
if (leftovers > 0) console.error(`lab: ended ${leftovers} process(es) left running inside the lab`);
process.exit(child.exitCode ?? 1);
