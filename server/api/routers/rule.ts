import { operatorProcedure, router, viewerProcedure } from "../trpc";
import {
  ruleAddSchema,
  ruleDeleteSchema,
  ruleListSchema,
  ruleMoveSchema,
  ruleReplaceAllSchema,
} from "../../net/rules-input";
import { addRule, deleteRule, listRules, moveRule, replaceAllRules } from "../../core/rules";

/**
 * Per-sandbox filter rules (API.md "Filter rules"). Inputs pass the strict schemas of
 * server/net/rules-input.ts before anything runs; operators change the rules of the
 * sandboxes they own, admins any (server/core/rules.ts checks ownership), viewers read.
 */
export const ruleRouter = router({
  /** The rules in order with live counters, the policy with its counters, the revision. */
  list: viewerProcedure.input(ruleListSchema).query(({ ctx, input }) => listRules(ctx.app, input.sandbox, { counters: input.counters })),
  add: operatorProcedure.input(ruleAddSchema).mutation(({ ctx, input }) => addRule(ctx.app, ctx.user, input)),
  delete: operatorProcedure.input(ruleDeleteSchema).mutation(({ ctx, input }) => deleteRule(ctx.app, ctx.user, input)),
  move: operatorProcedure.input(ruleMoveSchema).mutation(({ ctx, input }) => moveRule(ctx.app, ctx.user, input)),
  replaceAll: operatorProcedure
    .input(ruleReplaceAllSchema)
    .mutation(({ ctx, input }) => replaceAllRules(ctx.app, ctx.user, input)),
});
