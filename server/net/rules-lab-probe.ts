/**
 * Real connections for the rules/ports lab tests and bench: a TCP client run inside a
 * namespace with a deadline the client sets, reporting the OUTCOME (answered, refused,
 * timed out), never a duration; and a tiny server inside a namespace. Lab only.
 */
import path from "node:path";
import { execa, type ResultPromise } from "execa";

export type Outcome = { kind: "ok"; body: string } | { kind: "refused" } | { kind: "timeout" } | { kind: "error"; code: string };

// A GET over a raw socket: "ok <body>", "refused", "timeout" (the client's own deadline), "error <code>".
const CLIENT = `
const net = require("net");
const [host, port, deadline] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let body = "";
const done = (out) => { console.log(out); process.exit(0); };
const timer = setTimeout(() => { s.destroy(); done("timeout"); }, Number(deadline));
s.on("connect", () => s.write("GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n"));
s.on("data", (d) => { body += d; });
s.on("end", () => { clearTimeout(timer); done("ok " + JSON.stringify(body.split("\\r\\n\\r\\n")[1] ?? body)); });
s.on("error", (e) => { clearTimeout(timer); done(e.code === "ECONNREFUSED" ? "refused" : "error " + e.code); });
`;

/** Connects from namespace `ns` (null: the lab root, the "host") to host:port. */
export async function probe(ns: string | null, host: string, port: number, deadlineMs = 1500): Promise<Outcome> {
  const argv = [process.execPath, "-e", CLIENT, host, String(port), String(deadlineMs)];
  const r = ns ? await execa("ip", ["netns", "exec", ns, ...argv], { reject: false }) : await execa(argv[0]!, argv.slice(1), { reject: false });
  const line = r.stdout.trim();
  if (line.startsWith("ok ")) return { kind: "ok", body: (JSON.parse(line.slice(3)) as string).trim() };
  if (line === "refused") return { kind: "refused" };
  if (line === "timeout") return { kind: "timeout" };
  return { kind: "error", code: line || r.stderr.trim() };
}

/** Starts the lab's echo-the-caller HTTP server inside namespace `ns` on `port`; resolves when it listens. */
export async function startServerIn(ns: string, port: number, address = "0.0.0.0"): Promise<{ stop: () => Promise<void> }> {
  const script = path.resolve(import.meta.dirname, "../../scripts/lab/world-server.mjs");
  const child: ResultPromise = execa("ip", ["netns", "exec", ns, process.execPath, script, String(port), address], { reject: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("world server on")) resolve();
    });
    child.on("exit", () => reject(new Error(`server in ${ns} exited`)));
  });
  return {
    stop: async () => {
      child.kill("SIGTERM");
      await child;
    },
  };
}
