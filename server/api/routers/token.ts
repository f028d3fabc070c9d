import { z } from "zod";
import { audited, router, viewerProcedure } from "../trpc";
import { createToken, listTokens, revokeToken } from "../../auth/tokens";

export const tokenRouter = router({
  /** Creates an API token for the caller; the secret is in this answer only. */
  create: viewerProcedure
    .input(z.strictObject({ name: z.string().trim().min(1, "must not be empty").max(64).regex(/^[^\p{Cc}]*$/u, "must not hold control characters") }))
    .mutation(({ ctx, input }) =>
      audited(ctx, { action: "token.create", target: input.name, input, change: (tx) => createToken(tx, ctx.user.username, input.name) }),
    ),

  /** The caller's tokens (never their secrets). */
  list: viewerProcedure.query(({ ctx }) =>
    listTokens(ctx.app.store, ctx.user.username).map((t) => ({ ...t, lastUsedAt: t.lastUsedAt ?? null })),
  ),

  /** Revokes one of the caller's tokens; it stops working at once. */
  revoke: viewerProcedure.input(z.strictObject({ id: z.string().min(1).max(64) })).mutation(({ ctx, input }) => {
    audited(ctx, { action: "token.revoke", target: input.id, input, change: (tx) => revokeToken(tx, ctx.user.username, input.id) });
    return { ok: true };
  }),
});
