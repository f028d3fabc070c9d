import { router } from "./trpc";
import { authRouter } from "./routers/auth";
import { userRouter } from "./routers/user";
import { tokenRouter } from "./routers/token";
import { auditRouter } from "./routers/audit";
import { eventsRouter } from "./routers/events";
import { ruleRouter } from "./routers/rule";
import { portRouter } from "./routers/port";
import { processRouter } from "./routers/process";
import { sandboxRouter } from "./routers/sandbox";
import { hostRouter } from "./routers/host";
import { topologyRouter } from "./routers/topology";

/** The public API (API.md): one router per area. */
export const appRouter = router({
  auth: authRouter,
  user: userRouter,
  token: tokenRouter,
  audit: auditRouter,
  events: eventsRouter,
  rule: ruleRouter,
  port: portRouter,
  process: processRouter,
  sandbox: sandboxRouter,
  host: hostRouter,
  topology: topologyRouter,
});

export type AppRouter = typeof appRouter;
