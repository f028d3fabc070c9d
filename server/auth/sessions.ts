import { eq, lt } from "drizzle-orm";
import { sessions } from "../store/schema";
import type { Db } from "../store/db";
import { hashSecret, newId, newSecret, sameDigest } from "./secrets";

export const SESSION_COOKIE = "nslab_session";
const SESSION_DAYS = 7;

/** Creates a session for `username`; returns the cookie value (`id.secret`) and expiry. */
export function createSession(db: Db, username: string): { cookie: string; expiresAt: Date } {
  const id = newId();
  const secret = newSecret();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + SESSION_DAYS * 86400_000);
  db.insert(sessions)
    .values({ id, secretHash: hashSecret(secret), username, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() })
    .run();
  return { cookie: `${id}.${secret}`, expiresAt };
}

/** The session behind a cookie value, or null when it is unknown, wrong or expired. */
export function resolveSession(db: Db, cookie: string): { id: string; username: string } | null {
  const [id, secret] = cookie.split(".");
  if (!id || !secret || id.length > 64 || secret.length > 128) return null;
  const row = db.select().from(sessions).where(eq(sessions.id, id)).get();
  if (!row || !sameDigest(row.secretHash, hashSecret(secret))) return null;
  if (new Date(row.expiresAt) <= new Date()) return null;
  return { id: row.id, username: row.username };
}

/** Ends a session; the cookie stops working at once. */
export function deleteSession(db: Db, id: string): void {
  db.delete(sessions).where(eq(sessions.id, id)).run();
}

/** Removes expired sessions. */
export function pruneSessions(db: Db): void {
  db.delete(sessions).where(lt(sessions.expiresAt, new Date().toISOString())).run();
}

/** The Set-Cookie header value for a session (or for clearing it when `value` is empty). */
export function sessionCookieHeader(value: string, expiresAt: Date | null, secure: boolean): string {
  const parts = [`${SESSION_COOKIE}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  parts.push(expiresAt ? `Expires=${expiresAt.toUTCString()}` : "Max-Age=0");
  if (secure) parts.push("Secure");
  return parts.join("; ");
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
