import { AppError } from "../errors";
import { log } from "../log";
import { CommandError, type Runner } from "./runner";
import { renderSandboxFilterRestore, savedChainRules, type SandboxFilterSpec } from "./sandbox-chains";
import { COUNTERS_ARGV, parseSandboxCounters, type SandboxCounters } from "./rules-counters";
import { renderPortsRestore, savedPortRules, type PortSpec } from "./ports-nat";

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
 * Runs one `iptables-restore --noflush --wait` transaction with `text` on standard input.
 * (Not as a file argument: `--wait` takes an optional value and would swallow it.)
 */
export async function runRestore(runner: Runner, text: string): Promise<void> {
  await runner.run({ argv: RESTORE_ARGV, input: text });
}

/**
 * Changes one sandbox's filter chains (two heads and their chunk chains) in ONE
 * `iptables-restore --noflush --wait` (one nf_tables transaction): the change lands whole
 * or not at all, and nothing outside the sandbox's chains is touched. With `edits` (single-rule inserts/deletes, see
 * renderRuleInsert) only those are sent; if the kernel refuses them (it does not hold
 * what the store says: drift), the chains are rewritten whole from `spec` instead.
 */
export async function applySandboxFilter(
  runner: Runner,
  spec: SandboxFilterSpec,
  edits?: readonly string[],
  /** Chunk chains the store had before and `spec` no longer has (removed by a rewrite). */
  drop: readonly string[] = [],
): Promise<"edited" | "rewritten"> {
  if (edits && edits.length) {
    try {
      await runRestore(runner, `*filter\n${edits.join("\n")}\nCOMMIT\n`);
      return "edited";
    } catch (error) {
      log.warn({ err: error, sandbox: spec.id }, "incremental rule change refused; rewriting the sandbox's chains whole");
    }
  }
  try {
    await runRestore(runner, renderSandboxFilterRestore(spec, drop));
    return "rewritten";
  } catch (error) {
    applyFailed(error, "the rule change");
  }
}

// Reads of the filter table in flight, per runner: callers that arrive while one runs
// share its output (a page listing many sandboxes' rules asks for many at once, and each
// read of a large table costs tens of milliseconds), never a result older than that read.
const inFlightSaves = new WeakMap<Runner, Promise<string>>();

function sharedFilterSave(runner: Runner): Promise<string> {
  const pending = inFlightSaves.get(runner);
  if (pending) return pending;
  const read = runner.run({ argv: COUNTERS_ARGV }).then((r) => r.stdout);
  inFlightSaves.set(runner, read);
  const clear = () => {
    if (inFlightSaves.get(runner) === read) inFlightSaves.delete(runner);
  };
  read.then(clear, clear);
  return read;
}

/**
 * Reads the live counters of one sandbox's chains, and the chains' `-A` lines as saved
 * (to tell whether the kernel matches the store): one `iptables-save -c -t filter`,
 * shared with concurrent callers.
 */
export async function readSandboxCounters(runner: Runner, sandboxId: string): Promise<SandboxCounters & { savedRules: string[] }> {
  try {
    const stdout = await sharedFilterSave(runner);
    return { ...parseSandboxCounters(stdout, sandboxId), savedRules: savedChainRules(stdout, sandboxId) };
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
    await runRestore(runner, renderPortsRestore(ports));
  } catch (error) {
    applyFailed(error, "the port change");
  }
}

/** The `-A NSLAB-PORTS` lines the kernel holds now: one `iptables-save -t nat`. */
export async function readPortRules(runner: Runner): Promise<string[]> {
  try {
    return savedPortRules((await runner.run({ argv: ["iptables-save", "-t", "nat"] })).stdout);
  } catch (error) {
    applyFailed(error, "reading the nat table");
  }
}
