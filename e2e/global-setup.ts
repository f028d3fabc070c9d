import { execa } from "execa";
import path from "node:path";
import { nextStartArgs } from "../scripts/next-start-args.mjs";

/**
 * Starts the built console for the browser tests as one process, from an argv array
 * (Playwright's own webServer takes a shell command line, which nslab does not use),
 * and returns the teardown that stops it.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const root = path.resolve(import.meta.dirname, "..");
  const port = Number(process.env.NSLAB_E2E_PORT);
  const server = execa(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), ...nextStartArgs("127.0.0.1", port)], {
    cwd: root,
    reject: false,
    stdout: "ignore",
    stderr: "inherit",
    env: {
      NSLAB_DATA_DIR: process.env.NSLAB_E2E_DATA_DIR!,
      NSLAB_ADMIN_PASSWORD: process.env.NSLAB_E2E_ADMIN_PASSWORD!,
      NSLAB_HOST: "127.0.0.1",
      NSLAB_PORT: String(port),
      NSLAB_LOG_LEVEL: process.env.NSLAB_LOG_LEVEL ?? "warn",
      // The build just made: `.next` by default, NSLAB_DIST_DIR when set.
      NSLAB_DIST_DIR: process.env.NSLAB_DIST_DIR ?? ".next",
    },
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/login`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null || Date.now() > deadline) throw new Error("the console did not start for the browser tests");
    await new Promise((r) => setTimeout(r, 200));
  }
  return async () => {
    server.kill("SIGTERM");
    await server;
  };
}
