import { AppError } from "../errors";
import { CommandError, type Runner } from "./runner";
import { renderSandboxFilterRestore, type SandboxFilterSpec } from "./sandbox-chains";
import { COUNTERS_ARGV, parseSandboxCounters, type SandboxCounters } from "./rules-counters";
import { renderPortsRestore, type PortSpec } from "./ports-nat";

/** The one command that applies a table transaction: atomic, leaves everything else alone. */
export const RESTORE_ARGV = ["iptables-restore", "--noflush", "--wait"] as const;

/** Turns a failed command into APPLY_FAILED with the command and its stderr. */
export function applyFailed(error: unknown, what: string): never {
  if (error instanceof CommandError) {
    throw new AppError("APPLY_FAILED", `The kernel refused ${what}: ${error.stderr.trim() || error.message}`, {
      command: [...error.argv],
      stderr: error.stderr,
    }, { cause: error });
  }
  throw error;
}

/**
 * Rewrites one sandbox's two filter chains in ONE `iptables-restore --noflush --wait`
 * (one nf_tables transaction): the change lands whole or not at all, and nothing outside
 * the two chains is touched.
 */
export async function applySandboxFilter(runner: Runner, spec: SandboxFilterSpec): Promise<void> {
  const input = renderSandboxFilterRestore(spec);
  try {
    await runner.run({ argv: RESTORE_ARGV, input });
  } catch (error) {
    applyFailed(error, "the rule change");
  }
}

/** Reads the live counters of one sandbox's chains: one `iptables-save -c -t filter`. */
export async function readSandboxCounters(runner: Runner, sandboxId: string): Promise<SandboxCounters> {
  try {
    const { stdout } = await runner.run({ argv: COUNTERS_ARGV });
    return parseSandboxCounters(stdout, sandboxId);
  } catch (error) {
    applyFailed(error, "reading the counters");
  }
}

/**
 * Rewrites NSLAB-PORTS whole with `ports` (every published port on the host) in ONE nat
 * transaction. The jumps into it from PREROUTING/OUTPUT belong to the base layout the
 * sandbox engine asserts at start and on reconcile (server/net/layout.ts JUMPS).
 */
export async function applyPorts(runner: Runner, ports: readonly PortSpec[]): Promise<void> {
  try {
    await runner.run({ argv: RESTORE_ARGV, input: renderPortsRestore(ports) });
  } catch (error) {
    applyFailed(error, "the port change");
  }
}
