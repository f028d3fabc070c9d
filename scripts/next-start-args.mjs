// The arguments every way of serving the console passes to `next start` (npm start,
// the lab tests' server, Playwright's server), so they cannot drift apart.

/**
 * Node closes idle keep-alive connections after 5 s by default; a browser that reuses
 * one just as it closes sees "Failed to fetch" on a POST, which it may not retry.
 * Keeping them open longer than browsers keep idle sockets leaves the close to them.
 */
export const KEEP_ALIVE_MS = 65_000;

/** `next start` arguments for HOST:PORT (after the path of Next's bin). */
export function nextStartArgs(host, port) {
  return ["start", "-H", host, "-p", String(port), "--keepAliveTimeout", String(KEEP_ALIVE_MS)];
}
