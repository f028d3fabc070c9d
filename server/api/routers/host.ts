import { z } from "zod";
import { operatorProcedure, router, viewerProcedure } from "../trpc";
import { hostInfo } from "../../core/host";
import { reconcile } from "../../core/reconcile";
import { writeAudit } from "../../core/audit";

export const hostRouter = router({
  /** Uplinks, ip_forward, firewall backend, and warnings about what could block sandboxes. */
  info: viewerProcedure.query(({ ctx }) => hostInfo(ctx.app)),
  /** Compares the kernel with the store now and repairs what nslab owns. */
  reconcile: operatorProcedure.input(z.strictObject({}).optional()).mutation(async ({ ctx }) => {
    try {
      const report = await reconcile(ctx.app, { by: ctx.user.username });
      writeAudit(ctx.app.store, { user: ctx.user.username, action: "host.reconcile", input: {}, result: "ok" });
      ctx.app.events.publish({ type: "host.reconcile", by: ctx.user.username });
      return report;
    } catch (error) {
      writeAudit(ctx.app.store, { user: ctx.user.username, action: "host.reconcile", input: {}, result: "error", error: (error as Error).message });
      throw error;
    }
  }),
});
