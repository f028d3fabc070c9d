/** Addresses of the simulated outside world inside the private lab (documentation range). */
export const LAB = {
  /** The lab root's uplink interface (named like a real uplink). */
  uplinkIf: "eth0",
  /** The lab root's address on the uplink. */
  uplinkAddr: "203.0.113.10",
  /** The outside world's address: the lab root's default gateway and the HTTP server. */
  worldAddr: "203.0.113.1",
  worldNetns: "world",
  worldIf: "eth0",
  prefix: 24,
  /** Port of the world's HTTP server that answers with the caller's address. */
  worldPort: 8080,
  /** The pool the console allocates from in the lab, routed back by the world for routed mode. */
  pool: "10.200.0.0/16",
};
