import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { audit } from "../store/schema";
import type { Db } from "../store/db";

/** Keys whose values never reach the audit log. */
const SECRET_KEYS = /pass(word)?|secret|token/i;

/** A copy of `input` with every secret-looking field replaced by "[redacted]". */
export function redact(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(redact);
  if (input && typeof input === "object") {
    return Object.fromEntries(
      Object.entries(input as Record<string, unknown>).map(([key, value]) => [
        key,
        SECRET_KEYS.test(key) ? "[redacted]" : redact(value),
      ]),
    );
  }
  return input;
}

export interface AuditEntry {
  user: string;
  action: string;
  target?: string | null;
  sandbox?: string | null;
  input?: unknown;
  result: "ok" | "error";
  error?: string | null;
}

/** Writes one audit row; call it inside the transaction that makes the change. */
export function writeAudit(db: Db, entry: AuditEntry): void {
  db.insert(audit)
    .values({
      at: new Date().toISOString(),
      user: entry.user,
      action: entry.action,
      target: entry.target ?? null,
      sandbox: entry.sandbox ?? null,
      input: entry.input === undefined ? null : redact(entry.input),
      result: entry.result,
      error: entry.error ?? null,
    })
    .run();
}

export interface AuditQuery {
  sandbox?: string;
  user?: string;
  action?: string;
  limit?: number;
  before?: number;
}

/** Audit rows, newest first, filtered by sandbox, user, action and a cursor (`before` id). */
export function listAudit(db: Db, query: AuditQuery) {
  const where: SQL[] = [];
  if (query.sandbox) where.push(eq(audit.sandbox, query.sandbox));
  if (query.user) where.push(eq(audit.user, query.user));
  if (query.action) where.push(eq(audit.action, query.action));
  if (query.before !== undefined) where.push(lt(audit.id, query.before));
  return db
    .select()
    .from(audit)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(audit.id))
    .limit(query.limit ?? 100)
    .all()
    .map(({ sandbox: _sandbox, ...row }) => ({ ...row, error: row.error ?? undefined }));
}
