/**
 * The API's answer and input shapes, inferred from the router itself (API.md is the
 * contract; the router is its implementation). Type-only imports: no server code
 * reaches the browser bundle.
 */
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/api/root";

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

/** The signed-in user (`auth.me`). */
export type SessionUser = RouterOutputs["auth"]["me"];
export type Role = SessionUser["role"];

export type Sandbox = RouterOutputs["sandbox"]["get"];
export type SandboxList = RouterOutputs["sandbox"]["list"];
export type Mode = Sandbox["mode"];
export type Status = Sandbox["status"];
export type PolicyAction = Sandbox["policy"]["egress"];

export type RuleList = RouterOutputs["rule"]["list"];
export type Rule = RuleList["rules"][number];

export type Port = RouterOutputs["port"]["list"][number];

export type Program = RouterOutputs["process"]["list"][number];

export type HostInfo = RouterOutputs["host"]["info"];
export type ReconcileReport = RouterOutputs["host"]["reconcile"];

export type Topology = RouterOutputs["topology"]["get"];
export type TopologyNode = Topology["nodes"][number];
export type TopologyEdge = Topology["edges"][number];

export type UserRow = RouterOutputs["user"]["list"][number];
export type TokenRow = RouterOutputs["token"]["list"][number];

export type AuditRow = RouterOutputs["audit"]["list"][number];
/** What the audit views filter on (paging fields are the table's own). */
export type AuditFilter = Pick<Exclude<RouterInputs["audit"]["list"], void | undefined>, "user" | "sandbox" | "action">;
