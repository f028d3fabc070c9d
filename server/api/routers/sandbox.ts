import { operatorProcedure, router, viewerProcedure } from "../trpc";
import {
  adoptSandbox,
  createInputSchema,
  createManyInputSchema,
  createSandboxes,
  deleteManyInputSchema,
  deleteSandboxes,
  getSandbox,
  listSandboxes,
  nameInputSchema,
} from "../../core/sandboxes";
import { setPolicy } from "../../core/rules";
import { setPolicySchema } from "../../net/rules-input";

/**
 * Sandboxes (API.md "Sandboxes"). Inputs pass strict schemas before anything runs;
 * operators create sandboxes and manage the ones they own, admins any (checked in
 * server/core/sandboxes.ts before anything runs), viewers read.
 */
export const sandboxRouter = router({
  create: operatorProcedure
    .input(createInputSchema)
    .mutation(async ({ ctx, input }) => (await createSandboxes(ctx.app, ctx.user, [input], "sandbox.create"))[0]!),
  createMany: operatorProcedure
    .input(createManyInputSchema)
    .mutation(({ ctx, input }) => createSandboxes(ctx.app, ctx.user, input.sandboxes, "sandbox.createMany")),
  get: viewerProcedure.input(nameInputSchema).query(({ ctx, input }) => getSandbox(ctx.app, input.name)),
  list: viewerProcedure.query(({ ctx }) => listSandboxes(ctx.app)),
  delete: operatorProcedure.input(nameInputSchema).mutation(async ({ ctx, input }) => {
    const result = await deleteSandboxes(ctx.app, ctx.user, [input.name], "sandbox.delete");
    return { ok: true as const, ...result };
  }),
  deleteMany: operatorProcedure.input(deleteManyInputSchema).mutation(async ({ ctx, input }) => {
    const result = await deleteSandboxes(ctx.app, ctx.user, input.names, "sandbox.deleteMany");
    return { ok: true as const, ...result };
  }),
  adopt: operatorProcedure.input(nameInputSchema).mutation(({ ctx, input }) => adoptSandbox(ctx.app, ctx.user, input.name)),
  /** Default policy per direction; rewrites the sandbox's chains with its rules (server/core/rules.ts). */
  setPolicy: operatorProcedure.input(setPolicySchema).mutation(({ ctx, input }) => setPolicy(ctx.app, ctx.user, input)),
});
