import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Console accounts. `runAs` is a JSON array of Linux account names. */
export const users = sqliteTable("users", {
  username: text("username").primaryKey(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ["admin", "operator", "viewer"] }).notNull(),
  runAs: text("run_as", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  createdAt: text("created_at").notNull(),
});

/** Browser sessions; only the SHA-256 of the cookie's secret is kept. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    secretHash: text("secret_hash").notNull(),
    username: text("username")
      .notNull()
      .references(() => users.username, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [index("sessions_username").on(t.username)],
);

/** API tokens for `Authorization: Bearer`; only the SHA-256 of the secret is kept. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    username: text("username")
      .notNull()
      .references(() => users.username, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
    lastUsedAt: text("last_used_at"),
  },
  (t) => [uniqueIndex("api_tokens_secret").on(t.secretHash)],
);

/** One row per mutation: who, when, what, on what, with which input (secrets removed), outcome. */
export const audit = sqliteTable(
  "audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    user: text("user").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    sandbox: text("sandbox"),
    input: text("input", { mode: "json" }).$type<unknown>(),
    result: text("result", { enum: ["ok", "error"] }).notNull(),
    error: text("error"),
  },
  (t) => [index("audit_sandbox").on(t.sandbox), index("audit_user").on(t.user)],
);

/**
 * Desired sandboxes. `state` is the intent's progress: `creating` until the kernel
 * matches, then `ready`; `deleting` while it is being removed; reconcile finishes what a crash
 * left `creating` or `deleting`.
 */
export const sandboxes = sqliteTable("sandboxes", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  owner: text("owner").notNull(),
  mode: text("mode", { enum: ["nat", "routed", "isolated"] }).notNull(),
  subnet: text("subnet"),
  hostAddress: text("host_address"),
  address: text("address"),
  nat: integer("nat", { mode: "boolean" }).notNull(),
  egress: text("egress"),
  dns: text("dns", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  description: text("description").notNull().default(""),
  policyEgress: text("policy_egress", { enum: ["accept", "drop"] }).notNull().default("accept"),
  policyIngress: text("policy_ingress", { enum: ["accept", "drop"] }).notNull().default("drop"),
  rulesRevision: integer("rules_revision").notNull().default(0),
  adopted: integer("adopted", { mode: "boolean" }).notNull().default(false),
  state: text("state", { enum: ["creating", "ready", "deleting"] }).notNull().default("creating"),
  createdAt: text("created_at").notNull(),
});

/** Ordered filter rules of a sandbox. */
export const rules = sqliteTable(
  "rules",
  {
    id: text("id").primaryKey(),
    sandboxId: text("sandbox_id")
      .notNull()
      .references(() => sandboxes.id, { onDelete: "cascade" }),
    position: integer("position").notNull(),
    direction: text("direction", { enum: ["egress", "ingress"] }).notNull(),
    action: text("action", { enum: ["accept", "drop", "reject"] }).notNull(),
    protocol: text("protocol", { enum: ["any", "tcp", "udp", "icmp"] }).notNull(),
    peer: text("peer"),
    ports: text("ports"),
    comment: text("comment").notNull().default(""),
    /**
     * The chunk chain the rule sits in (0: the sandbox's head chain NSLAB-E/I-<id>, k:
     * NSLAB-E/I-<id>-k; docs/firewall.md "Chunk chains"). Non-decreasing along each
     * direction's order; kept by server/core/rules.ts.
     */
    chunk: integer("chunk").notNull().default(0),
  },
  (t) => [index("rules_sandbox").on(t.sandboxId, t.position)],
);

/** Published ports: host port → sandbox port (DNAT). */
export const ports = sqliteTable(
  "ports",
  {
    id: text("id").primaryKey(),
    sandboxId: text("sandbox_id")
      .notNull()
      .references(() => sandboxes.id, { onDelete: "cascade" }),
    protocol: text("protocol", { enum: ["tcp", "udp"] }).notNull(),
    hostPort: integer("host_port").notNull(),
    sandboxPort: integer("sandbox_port").notNull(),
  },
  (t) => [uniqueIndex("ports_host").on(t.protocol, t.hostPort)],
);

/** Programs started inside sandboxes; found again after a restart by pid + start time. */
export const processes = sqliteTable(
  "processes",
  {
    id: text("id").primaryKey(),
    sandbox: text("sandbox").notNull(),
    argv: text("argv", { mode: "json" }).$type<string[]>().notNull(),
    user: text("user").notNull(),
    cwd: text("cwd"),
    env: text("env", { mode: "json" }).$type<Record<string, string>>(),
    pid: integer("pid"),
    pidStartTime: text("pid_start_time"),
    state: text("state", { enum: ["running", "exited"] }).notNull(),
    exitCode: integer("exit_code"),
    signal: text("signal"),
    startedAt: text("started_at").notNull(),
    endedAt: text("ended_at"),
    startedBy: text("started_by").notNull(),
  },
  (t) => [index("processes_sandbox").on(t.sandbox)],
);
