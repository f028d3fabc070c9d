import { operatorProcedure, router, viewerProcedure } from "../trpc";
import { portAddSchema, portDeleteSchema, portListSchema } from "../../net/rules-input";
import { addPort, deletePort, listPorts } from "../../core/ports";

/** Published ports (API.md "Published ports"): DNAT from a host port into a sandbox. */
export const portRouter = router({
  list: viewerProcedure.input(portListSchema).query(({ ctx, input }) => listPorts(ctx.app.store, input.sandbox)),
  add: operatorProcedure.input(portAddSchema).mutation(({ ctx, input }) => addPort(ctx.app, ctx.user, input)),
  delete: operatorProcedure.input(portDeleteSchema).mutation(({ ctx, input }) => deletePort(ctx.app, ctx.user, input)),
});
