import { router, viewerProcedure } from "../trpc";
import { topology } from "../../core/host";

export const topologyRouter = router({
  /** Host, uplinks, sandboxes and foreign namespaces with veth/nat/link edges and live byte counters. */
  get: viewerProcedure.query(({ ctx }) => topology(ctx.app)),
});
