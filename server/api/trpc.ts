import { initTRPC, TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import { ZodError } from "zod";
import type { App } from "../app";
import { AppError, errorData, toTRPCError } from "../errors";
import { writeAudit } from "../core/audit";
import { findUser, type Role, type UserView } from "../core/users";
import { resolveSession, readCookie, SESSION_COOKIE } from "../auth/sessions";
import { resolveToken } from "../auth/tokens";
import { log } from "../log";

/** Who is calling and how, resolved once per request. */
export interface Context {
  app: App;
  user: UserView | null;
  /** How the caller authenticated: a session cookie, a bearer token, or not at all. */
  authVia: "cookie" | "token" | null;
  sessionId: string | null;
  /** The request's Origin header (null when absent) and the console's own origin. */
  origin: string | null;
  ownOrigin: string;
  /** Client address, for sign-in rate limiting. */
  clientAddress: string;
  /** Headers added to the response (Set-Cookie). */
  resHeaders: Headers;
}

/** Builds the context of one request: resolves the bearer token or the session cookie. */
export function createContext(app: App, req: Request, resHeaders: Headers): Context {
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? url.host;
  const ctx: Context = {
    app,
    user: null,
    authVia: null,
    sessionId: null,
    origin: req.headers.get("origin"),
    ownOrigin: `${url.protocol}//${host}`,
    // Not read from a request header: any client can send x-nslab-client or
    // x-forwarded-for (Next only fills the latter when absent), and a key the client
    // picks would let it step around the sign-in limit. Route handlers do not see the
    // socket's address, so failed sign-ins are counted per user name for everyone.
    clientAddress: "any",
    resHeaders,
  };
  const authorization = req.headers.get("authorization");
  if (authorization?.toLowerCase().startsWith("bearer ")) {
    const token = resolveToken(app.store, authorization.slice(7).trim());
    const row = token && findUser(app.store, token.username);
    if (row) {
      ctx.user = { username: row.username, role: row.role, runAs: row.runAs };
      ctx.authVia = "token";
    }
    return ctx; // a bad token never falls back to the cookie
  }
  const cookie = readCookie(req.headers.get("cookie"), SESSION_COOKIE);
  const session = cookie ? resolveSession(app.store, cookie) : null;
  const row = session && findUser(app.store, session.username);
  if (session && row) {
    ctx.user = { username: row.username, role: row.role, runAs: row.runAs };
    ctx.authVia = "cookie";
    ctx.sessionId = session.id;
  }
  return ctx;
}

/**
 * The error a client sees for a TRPCError that tRPC hands over. tRPC wraps what a
 * procedure throws (INTERNAL_SERVER_ERROR around an AppError or a bug, BAD_REQUEST around
 * a ZodError): that thrown value is mapped, once, by errors.ts. tRPC's own errors
 * (PARSE_ERROR for a body that is not JSON, NOT_FOUND for an unknown procedure, ...)
 * keep their code: unwrapping their cause (a SyntaxError) would turn them into a 500.
 */
function clientError(error: TRPCError): TRPCError {
  const cause = error.cause;
  const thrown =
    cause instanceof AppError ||
    (cause instanceof ZodError && error.code === "BAD_REQUEST") ||
    (error.code === "INTERNAL_SERVER_ERROR" && cause instanceof Error && !(cause instanceof TRPCError));
  return toTRPCError(thrown ? cause : error);
}

const t = initTRPC.context<Context>().create({
  // No transformer: any HTTP client can call the API (API.md's wire format).
  errorFormatter({ shape, error }) {
    const source = clientError(error);
    const { stack: _stack, ...rest } = shape.data;
    return {
      ...shape,
      code: TRPC_ERROR_CODES_BY_KEY[source.code],
      message: source.message,
      data: { ...rest, code: source.code, httpStatus: getHTTPStatusCodeFromError(source), ...errorData(source) },
    };
  },
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;

/** Turns every error a procedure throws into the one typed mapping (errors.ts). */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = clientError(result.error);
    if (mapped.code === "INTERNAL_SERVER_ERROR") log.error({ err: result.error.cause ?? result.error }, "procedure failed");
    (result as { error: TRPCError }).error = mapped;
  }
  return result;
});

/**
 * Refuses a cookie-authenticated mutation whose Origin is missing, "null" or foreign
 * (CSRF): SameSite=Strict already stops most, this stops the rest. Token callers are
 * not browsers riding an ambient cookie, so they need no Origin.
 */
const checkOrigin = t.middleware(({ ctx, type, next }) => {
  if (type === "mutation" && ctx.authVia === "cookie" && ctx.origin !== ctx.ownOrigin) {
    throw new TRPCError({ code: "FORBIDDEN", message: "Cross-origin or origin-less request refused" });
  }
  return next();
});

/** Anyone, signed in or not (only `auth.login`). */
export const publicProcedure = t.procedure.use(mapErrors);

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

function requireRole(min: Role) {
  return t.middleware(({ ctx, next }) => {
    if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
    if (ROLE_RANK[ctx.user.role] < ROLE_RANK[min]) {
      throw new TRPCError({ code: "FORBIDDEN", message: `This needs the ${min} role; you are ${ctx.user.role}` });
    }
    return next({ ctx: { ...ctx, user: ctx.user } });
  });
}

/** Any signed-in user: reads, and changes to one's own session and tokens. */
export const viewerProcedure = publicProcedure.use(requireRole("viewer")).use(checkOrigin);
/** Operators and admins: create sandboxes, manage the ones they own. */
export const operatorProcedure = publicProcedure.use(requireRole("operator")).use(checkOrigin);
/** Admins only: users, any sandbox, run as root. */
export const adminProcedure = publicProcedure.use(requireRole("admin")).use(checkOrigin);

/** What an audited mutation says about itself. */
export interface AuditedChange<T> {
  action: string;
  target?: string | null;
  sandbox?: string | null;
  input?: unknown;
  /** Makes the change; runs inside the transaction that also writes the ok audit row. */
  change: (tx: Parameters<Parameters<App["store"]["transaction"]>[0]>[0]) => T;
}

/**
 * Runs a store change and its "ok" audit row in one transaction, then publishes an
 * event. When the change throws, nothing of it stays; an "error" row records the try.
 */
export function audited<T>(ctx: { app: App; user: UserView }, spec: AuditedChange<T>): T {
  const base = { user: ctx.user.username, action: spec.action, target: spec.target, sandbox: spec.sandbox, input: spec.input };
  try {
    const result = ctx.app.store.transaction((tx) => {
      const out = spec.change(tx);
      writeAudit(tx, { ...base, result: "ok" });
      return out;
    });
    ctx.app.events.publish({ type: spec.action, sandbox: spec.sandbox ?? undefined, by: ctx.user.username });
    return result;
  } catch (error) {
    writeAudit(ctx.app.store, { ...base, result: "error", error: (error as Error).message });
    throw error;
  }
}
