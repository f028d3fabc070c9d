import { router, viewerProcedure } from "../trpc";

export const eventsRouter = router({
  /** Streams `{type, sandbox?, by, at}` for every change, over SSE. */
  watch: viewerProcedure.subscription(async function* ({ ctx, signal }) {
    yield* ctx.app.events.subscribe(signal);
  }),
});
