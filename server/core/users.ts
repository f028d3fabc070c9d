import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { users } from "../store/schema";
import type { Db } from "../store/db";
import { AppError } from "../errors";
import { hashPassword } from "../auth/password";

export const ROLES = ["admin", "operator", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Console user names: short, lower case, safe in logs and URLs. */
export const usernameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,31}$/, "must start with a letter and hold only a-z, 0-9, _ . - (at most 32)");
/** Linux account names a user may run programs as (the shape `useradd` accepts). */
export const linuxUserSchema = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}\$?$/, "must be a Linux user name: a-z, 0-9, _ and -, at most 32");
export const passwordSchema = z.string().min(8, "must be at least 8 characters").max(256);

export interface UserView {
  username: string;
  role: Role;
  runAs: string[];
}

const view = (row: typeof users.$inferSelect): UserView => ({ username: row.username, role: row.role, runAs: row.runAs });

/** All users, without password hashes. */
export function listUsers(db: Db): UserView[] {
  return db.select().from(users).orderBy(asc(users.username)).all().map(view);
}

/** One user (with its hash, for sign-in) or undefined. */
export function findUser(db: Db, username: string) {
  return db.select().from(users).where(eq(users.username, username)).get();
}

/** Creates a user; NAME_TAKEN when the name is in use. Hash first: argon2 is async. */
export async function prepareUser(input: { username: string; password: string; role: Role; runAs?: string[] }) {
  return {
    username: input.username,
    passwordHash: await hashPassword(input.password),
    role: input.role,
    runAs: input.runAs ?? [],
    createdAt: new Date().toISOString(),
  };
}

/** Inserts a prepared user; NAME_TAKEN when the name is in use. */
export function insertUser(db: Db, row: Awaited<ReturnType<typeof prepareUser>>): UserView {
  if (findUser(db, row.username)) throw new AppError("NAME_TAKEN", `User ${row.username} already exists`);
  db.insert(users).values(row).run();
  return view(row);
}

/** Applies a change to a user; NOT_FOUND when there is none. Refuses to demote the last admin. */
export function updateUser(
  db: Db,
  username: string,
  change: { role?: Role; passwordHash?: string; runAs?: string[] },
): UserView {
  const row = findUser(db, username);
  if (!row) throw new AppError("NOT_FOUND", `No user ${username}`);
  if (row.role === "admin" && change.role && change.role !== "admin") assertNotLastAdmin(db, username);
  db.update(users).set(change).where(eq(users.username, username)).run();
  return view({ ...row, ...change });
}

/** Deletes a user (its sessions and tokens go with it); refuses to delete the last admin. */
export function deleteUser(db: Db, username: string): void {
  const row = findUser(db, username);
  if (!row) throw new AppError("NOT_FOUND", `No user ${username}`);
  if (row.role === "admin") assertNotLastAdmin(db, username);
  db.delete(users).where(eq(users.username, username)).run();
}

function assertNotLastAdmin(db: Db, username: string): void {
  const admins = db.select().from(users).where(eq(users.role, "admin")).all();
  if (admins.length === 1 && admins[0]!.username === username) {
    throw new AppError("CONFLICT", "The last admin cannot be removed or demoted");
  }
}
