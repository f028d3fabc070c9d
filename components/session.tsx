"use client";

import { createContext, useContext } from "react";
import type { Role, SessionUser } from "./api-types";

export type { SessionUser };

const SessionContext = createContext<SessionUser | null>(null);

/** Gives pages the signed-in user (set by the console layout). */
export const SessionProvider = SessionContext.Provider;

/** The signed-in user; only inside the console layout. */
export function useSession(): SessionUser {
  const user = useContext(SessionContext);
  if (!user) throw new Error("useSession outside the console layout");
  return user;
}

/** Whether the user may change things at all (operators and admins). */
export function canOperate(user: SessionUser): boolean {
  return user.role === "admin" || user.role === "operator";
}

/** Whether the user may change a thing owned by `owner`. */
export function canManage(user: SessionUser, owner: string): boolean {
  return user.role === "admin" || (user.role === "operator" && user.username === owner);
}

/** Tone of a role's badge. */
export function roleTone(role: Role): "indigo" | "green" | "slate" {
  return role === "admin" ? "indigo" : role === "operator" ? "green" : "slate";
}
