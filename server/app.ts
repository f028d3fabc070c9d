import "server-only";
import { loadConfig, type Config } from "./config";
import { openStore, type Store } from "./store/db";
import { EventBus } from "./core/events";
import { SignInLimiter } from "./auth/rate-limit";
import { ExecaRunner, type Runner } from "./net/runner";
import { runStartup } from "./startup";
import { log } from "./log";

/** Everything a request needs: configuration, store, event bus, runner. One per process. */
export interface App {
  config: Config;
  store: Store;
  events: EventBus;
  signInLimiter: SignInLimiter;
  runner: Runner;
  /** Resolves when start-up work (admin bootstrap, first reconcile) has finished. */
  ready: Promise<void>;
}

// Next bundles route handlers and instrumentation separately, so a module-level
// variable could exist twice; the process-wide global holds the one App.
const GLOBAL_KEY = Symbol.for("nslab.app");
type Global = typeof globalThis & { [GLOBAL_KEY]?: App };

/** The process's App, created (store opened, migrations applied, start hooks run) on first use. */
export function getApp(): App {
  const g = globalThis as Global;
  if (g[GLOBAL_KEY]) return g[GLOBAL_KEY];
  const config = loadConfig();
  const store = openStore(config.dataDir);
  const app: App = {
    config,
    store,
    events: new EventBus(),
    signInLimiter: new SignInLimiter(),
    runner: new ExecaRunner(),
    ready: Promise.resolve(),
  };
  g[GLOBAL_KEY] = app;
  app.ready = runStartup(app).catch((error) => {
    log.error({ err: error }, "start-up failed");
    throw error;
  });
  return app;
}
