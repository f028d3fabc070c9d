/**
 * The one lock that orders the console's kernel work, process-wide.
 *
 * Two kinds of holders share it, per App (keyed by its store):
 * - "all": the sandbox engine (create, delete, adopt, reconcile). It runs alone: it waits
 *   for every holder that asked before it, and everyone who asks after it waits for it.
 *   Its plans read the whole host and may rewrite any sandbox's chains or NSLAB-PORTS.
 * - keys: a rule or policy change holds its sandbox's id, a port change the key
 *   PORTS_KEY. Holders of different keys run side by side; the same key is one at a time.
 *
 * Every holder waits only for holders that asked EARLIER, so there is no cycle and no
 * deadlock. Code running under a hold may call code that asks again for what it already
 * holds (the engine holding "all" calls the ports code, which asks for PORTS_KEY): that
 * runs at once (the hold is found in the async context). Asking for something the hold
 * does not cover (keys while holding other keys, "all" while holding keys) would wait on
 * itself; that is refused with an error instead.
 *
 * Next loads server modules once per bundle (route handlers, instrumentation), so this
 * module may exist twice in one process: the state lives on a process-wide global.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The key of the host-wide published-ports chain (NSLAB-PORTS). */
export const PORTS_KEY = "(ports)";

interface LockState {
  /** Released when the latest "all" holder (and so every earlier one) is done. */
  allTail: Promise<void>;
  /** Per key: released when the latest holder of that key is done. */
  keyTails: Map<string, Promise<void>>;
  /** Who waits and who holds (diagnostics and tests): "*" for "all", else the key. */
  waiting: string[];
  holding: string[];
}

interface Hold {
  state: LockState;
  scope: "all" | ReadonlySet<string>;
  released: boolean;
}

const STATES_KEY = Symbol.for("nslab.locks");
const CONTEXT_KEY = Symbol.for("nslab.locks.context");
const shared = globalThis as Record<symbol, unknown>;
const states = (shared[STATES_KEY] ??= new WeakMap<object, LockState>()) as WeakMap<object, LockState>;
const context = (shared[CONTEXT_KEY] ??= new AsyncLocalStorage<readonly Hold[]>()) as AsyncLocalStorage<readonly Hold[]>;

function stateOf(owner: { store: object }): LockState {
  let state = states.get(owner.store);
  if (!state) {
    state = { allTail: Promise.resolve(), keyTails: new Map(), waiting: [], holding: [] };
    states.set(owner.store, state);
  }
  return state;
}

const removeOne = (list: string[], label: string) => {
  const k = list.indexOf(label);
  if (k >= 0) list.splice(k, 1);
};

/**
 * Runs `fn` holding `scope` ("all", or the given keys) of `owner`'s lock; see above.
 */
export async function withLock<T>(owner: { store: object }, scope: "all" | readonly string[], fn: () => Promise<T>): Promise<T> {
  const state = stateOf(owner);
  const held = (context.getStore() ?? []).filter((h) => h.state === state && !h.released);
  if (held.some((h) => h.scope === "all" || (scope !== "all" && scope.every((k) => (h.scope as ReadonlySet<string>).has(k))))) {
    return fn(); // already covered by a hold of this async context
  }
  if (held.length) {
    throw new Error(`lock order: asking for ${scope === "all" ? "all" : scope.join(",")} while holding ${held.map((h) => (h.scope === "all" ? "all" : [...h.scope].join(","))).join("; ")}`);
  }
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  let prior: Promise<void>[];
  if (scope === "all") {
    prior = [state.allTail, ...state.keyTails.values()];
    state.allTail = mine;
  } else {
    prior = [state.allTail, ...scope.map((k) => state.keyTails.get(k) ?? Promise.resolve())];
    for (const k of scope) state.keyTails.set(k, mine);
  }
  const label = scope === "all" ? "*" : scope.join(",");
  state.waiting.push(label);
  await Promise.all(prior);
  removeOne(state.waiting, label);
  state.holding.push(label);
  const hold: Hold = { state, scope: scope === "all" ? "all" : new Set(scope), released: false };
  try {
    return await context.run([...(context.getStore() ?? []), hold], fn);
  } finally {
    hold.released = true;
    removeOne(state.holding, label);
    if (scope !== "all") {
      for (const k of scope) if (state.keyTails.get(k) === mine) state.keyTails.delete(k);
    }
    release();
  }
}

/** Who waits for and who holds `owner`'s lock now ("*" is the engine's "all"). */
export function lockQueue(owner: { store: object }): { waiting: string[]; holding: string[] } {
  const state = stateOf(owner);
  return { waiting: [...state.waiting], holding: [...state.holding] };
}
