import type { App } from "./app";
import { bootstrapAdmin } from "./auth/bootstrap";
import { resumeProcesses } from "./core/processes";
import { startEngine } from "./core/reconcile";

/**
 * Work done once when the console starts, in order: the first admin, then (as later
 * areas land) firewall layout, reconcile, finding running programs again, timers.
 */
export async function runStartup(app: App): Promise<void> {
  await bootstrapAdmin(app.store, app.config.dataDir, app.config.NSLAB_ADMIN_PASSWORD, (line) => console.log(line));
  // Programs started by an earlier console: watch the live ones, mark the ended ones exited.
  resumeProcesses(app);
  // The firewall base layout, ip_forward, and the first reconcile (published ports
  // included: NSLAB-PORTS is made to hold exactly the store's ports); then one on a timer.
  await startEngine(app);
}
