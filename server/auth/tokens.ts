import { and, desc, eq } from "drizzle-orm";
import { apiTokens } from "../store/schema";
import type { Db } from "../store/db";
import { AppError } from "../errors";
import { hashSecret, newId, newSecret } from "./secrets";

/** Token secrets start with this, so a leaked one is easy to recognise in logs and scanners. */
const TOKEN_PREFIX = "nslab_";

/** Creates an API token for `username`; the secret is returned once and never stored. */
export function createToken(db: Db, username: string, name: string): { id: string; token: string } {
  const id = newId();
  const token = `${TOKEN_PREFIX}${newSecret()}`;
  db.insert(apiTokens)
    .values({ id, name, secretHash: hashSecret(token), username, createdAt: new Date().toISOString() })
    .run();
  return { id, token };
}

/** The tokens of `username`, without their secrets. */
export function listTokens(db: Db, username: string) {
  return db
    .select({ id: apiTokens.id, name: apiTokens.name, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .where(eq(apiTokens.username, username))
    .orderBy(desc(apiTokens.createdAt))
    .all();
}

/** Revokes one of `username`'s tokens; NOT_FOUND when it has no such token. */
export function revokeToken(db: Db, username: string, id: string): void {
  const done = db.delete(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.username, username))).run();
  if (done.changes === 0) throw new AppError("NOT_FOUND", `No token with id ${id}`);
}

/** The user behind a bearer token (and marks it used), or null. */
export function resolveToken(db: Db, token: string): { id: string; username: string } | null {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
  const row = db.select().from(apiTokens).where(eq(apiTokens.secretHash, hashSecret(token))).get();
  if (!row) return null;
  db.update(apiTokens).set({ lastUsedAt: new Date().toISOString() }).where(eq(apiTokens.id, row.id)).run();
  return { id: row.id, username: row.username };
}
