import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { requireLab } from "./lab";
import { nextStartArgs } from "../scripts/next-start-args.mjs";

export interface TestServer {
  baseURL: string;
  port: number;
  dataDir: string;
  adminPassword: string;
  /** Stops the server (TERM) and waits for it. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and data dir. */
  restart(): Promise<void>;
  /** Everything the server printed so far. */
  output(): string;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * Starts the built console (`next start`, one process) inside the lab with a fresh data
 * dir and a known admin password; resolves once it answers. Needs `next build` first.
 */
export async function startServer(options: { env?: Record<string, string>; dataDir?: string } = {}): Promise<TestServer> {
  requireLab();
  const root = path.resolve(import.meta.dirname, "..");
  const port = await freePort();
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "nslab-test-"));
  const adminPassword = "admin-password-for-tests";
  let child: ResultPromise | null = null;
  let log = "";

  const start = async () => {
    child = execa(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), ...nextStartArgs("127.0.0.1", port)], {
      cwd: root,
      env: {
        NSLAB_DATA_DIR: dataDir,
        NSLAB_ADMIN_PASSWORD: adminPassword,
        NSLAB_HOST: "127.0.0.1",
        NSLAB_PORT: String(port),
        NSLAB_LOG_LEVEL: "warn",
        ...(process.env.NSLAB_DIST_DIR ? { NSLAB_DIST_DIR: process.env.NSLAB_DIST_DIR } : {}),
        ...options.env,
      },
      reject: false,
      all: true,
    });
    child.all?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/trpc/auth.me`);
        if (res.status === 401) return;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the console did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stopWith = async (signal: NodeJS.Signals) => {
    if (!child) return;
    child.kill(signal);
    await child;
    child = null;
  };

  await start();
  return {
    baseURL: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    adminPassword,
    stop: () => stopWith("SIGTERM"),
    kill9: () => stopWith("SIGKILL"),
    restart: async () => {
      await stopWith("SIGTERM");
      await start();
    },
    output: () => log,
  };
}
