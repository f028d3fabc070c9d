import { appRouter } from "../server/api/root";
import { createCallerFactory, type Context } from "../server/api/trpc";
import type { App } from "../server/app";
import type { Role } from "../server/core/users";

/**
 * The API called in-process as `username` with `role` (a token caller: no Origin check),
 * through the same procedures, schemas and authorization as HTTP.
 */
export function callerFor(app: App, username: string, role: Role) {
  const ctx: Context = {
    app,
    user: { username, role, runAs: [] },
    authVia: "token",
    sessionId: null,
    origin: null,
    ownOrigin: "http://127.0.0.1",
    clientAddress: "lab",
    resHeaders: new Headers(),
  };
  return createCallerFactory(appRouter)(ctx);
}
