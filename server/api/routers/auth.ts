import { z } from "zod";
import { TRPCError } from "@trpc/server";
import { publicProcedure, router, viewerProcedure } from "../trpc";
import { findUser } from "../../core/users";
import { dummyPasswordHash, verifyPassword } from "../../auth/password";
import { createSession, deleteSession, sessionCookieHeader } from "../../auth/sessions";
import { writeAudit } from "../../core/audit";

const loginInput = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});

export const authRouter = router({
  /** Signs in with user name and password; sets the session cookie. */
  login: publicProcedure.input(loginInput).mutation(async ({ ctx, input }) => {
    // A browser posting from another site must not sign the victim in (login CSRF).
    if (ctx.origin !== null && ctx.origin !== ctx.ownOrigin) {
      throw new TRPCError({ code: "FORBIDDEN", message: "Cross-origin request refused" });
    }
    const limiter = ctx.app.signInLimiter;
    const key = `${ctx.clientAddress}|${input.username}`;
    const wait = limiter.retryAfter(key);
    if (wait > 0) {
      ctx.resHeaders.set("Retry-After", String(wait));
      throw new TRPCError({ code: "TOO_MANY_REQUESTS", message: `Too many failed sign-ins; try again in ${wait} s` });
    }
    const row = findUser(ctx.app.store, input.username);
    // Verify against a dummy hash for unknown users: same time, same answer.
    const ok = await verifyPassword(row?.passwordHash ?? (await dummyPasswordHash()), input.password);
    if (!row || !ok) {
      limiter.fail(key);
      writeAudit(ctx.app.store, { user: input.username, action: "auth.login", input: { username: input.username }, result: "error", error: "bad credentials" });
      throw new TRPCError({ code: "UNAUTHORIZED", message: "Wrong user name or password" });
    }
    limiter.reset(key);
    const session = ctx.app.store.transaction((tx) => {
      const created = createSession(tx, row.username);
      writeAudit(tx, { user: row.username, action: "auth.login", input: { username: row.username }, result: "ok" });
      return created;
    });
    ctx.resHeaders.append("Set-Cookie", sessionCookieHeader(session.cookie, session.expiresAt, ctx.ownOrigin.startsWith("https:")));
    return { username: row.username, role: row.role };
  }),

  /** Ends the current session on the server; the old cookie stops working. */
  logout: viewerProcedure.mutation(({ ctx }) => {
    ctx.app.store.transaction((tx) => {
      if (ctx.sessionId) deleteSession(tx, ctx.sessionId);
      writeAudit(tx, { user: ctx.user.username, action: "auth.logout", result: "ok" });
    });
    ctx.resHeaders.append("Set-Cookie", sessionCookieHeader("", null, ctx.ownOrigin.startsWith("https:")));
    return { ok: true };
  }),

  /** Who is signed in. */
  me: viewerProcedure.query(({ ctx }) => ({ username: ctx.user.username, role: ctx.user.role, runAs: ctx.user.runAs })),
});
