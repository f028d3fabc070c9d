// `npm start`: serves the console as ONE process: Next's own CLI (`next start -H HOST
// -p PORT`) loaded into this process, not spawned (no npx, no orphaned next-server).
// The configuration is validated first with the product's schema (server/config.ts);
// the first admin's password is printed by server/auth/bootstrap.ts once the server starts.
import { createRequire } from "node:module";
import { bin, checkConfig, say } from "./lib.mjs";
import { nextStartArgs } from "./next-start-args.mjs";

const config = await checkConfig();
const host = config.NSLAB_HOST;
const port = config.NSLAB_PORT;
const wildcard = host === "0.0.0.0" || host === "::";
const shown = wildcard ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
const url = `http://${shown}:${port}`;

say(`data in ${config.dataDir}`);
say(`starting the console on ${host}:${port}`);

// Tell people where to sign in once the server answers (a probe of this very process).
(async () => {
  for (let i = 0; i < 600; i++) {
    try {
      await fetch(`${url}/api/trpc/auth.me`, { signal: AbortSignal.timeout(2000) });
      say(`ready: sign in at ${url}/login${wildcard ? " (listening on every address)" : ""}`);
      say(
        config.NSLAB_ADMIN_PASSWORD
          ? "user admin, with the password in NSLAB_ADMIN_PASSWORD (set on the first start)"
          : `user admin, with the password printed on the first start (also in ${config.dataDir}/initial-admin-password)`,
      );
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
})();

process.argv = [process.execPath, bin.next, ...nextStartArgs(host, port)];
createRequire(import.meta.url)(bin.next);
