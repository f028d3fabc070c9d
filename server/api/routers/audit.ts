import { z } from "zod";
import { router, viewerProcedure } from "../trpc";
import { listAudit } from "../../core/audit";

export const auditRouter = router({
  /** Audit rows, newest first; `before` is an id cursor for paging. */
  list: viewerProcedure
    .input(
      z
        .strictObject({
          sandbox: z.string().max(64).optional(),
          user: z.string().max(64).optional(),
          action: z.string().max(64).optional(),
          limit: z.number().int().min(1).max(1000).optional(),
          before: z.number().int().min(1).optional(),
        })
        .optional(),
    )
    .query(({ ctx, input }) => listAudit(ctx.app.store, input ?? {})),
});
