import { tracked } from "@trpc/server";
import { audited, operatorProcedure, router, viewerProcedure } from "../trpc";
import {
  assertMayStopProcess,
  auditInputOf,
  findProcessRow,
  followOutput,
  launchPrepared,
  listInputSchema,
  listProcesses,
  logsInputSchema,
  outputInputSchema,
  prepareStart,
  startInputSchema,
  stopInputSchema,
  stopProcess,
  readLogs,
} from "../../core/processes";

/** Programs inside sandboxes (API.md "Processes"); the service is server/core/processes.ts. */
export const processRouter = router({
  /**
   * Runs argv in a sandbox as a Linux user → `{id, pid}` (pid: the program's own).
   * Checked and reserved in the audited transaction, then launched.
   */
  start: operatorProcedure.input(startInputSchema).mutation(({ ctx, input }) => {
    const prepared = audited(ctx, {
      action: "process.start",
      sandbox: input.sandbox,
      target: input.argv[0] ?? null,
      input: auditInputOf(input),
      change: (tx) => prepareStart(tx, ctx.app, ctx.user, input),
    });
    return launchPrepared(ctx.app, prepared, ctx.user.username);
  }),

  /** Every program (of one sandbox), running and exited. */
  list: viewerProcedure.input(listInputSchema).query(({ ctx, input }) => listProcesses(ctx.app.store, input?.sandbox)),

  /** TERM (or `signal`) to the program's group, KILL after the grace period → the process once ended. */
  stop: operatorProcedure.input(stopInputSchema).mutation(async ({ ctx, input }) => {
    const row = findProcessRow(ctx.app.store, input.id);
    audited(ctx, {
      action: "process.stop",
      target: input.id,
      sandbox: row?.sandbox ?? null,
      input,
      change: (tx) => assertMayStopProcess(tx, ctx.user, row, input.id),
    });
    return stopProcess(ctx.app, input.id, input.signal ?? "TERM");
  }),

  /** `{stdout, stderr, truncated, cursor}`: the kept output (the newest part, size-capped). */
  logs: viewerProcedure.input(logsInputSchema).query(({ ctx, input }) => readLogs(ctx.app, input.id, input.tail)),

  /** New output as it comes: `{kind: "output", stream, data}` ..., then `{kind: "exit", ...}`. */
  output: viewerProcedure.input(outputInputSchema).subscription(async function* ({ ctx, input, signal }) {
    for await (const { cursor, event } of followOutput(ctx.app, input.id, input.lastEventId, signal)) {
      yield tracked(cursor, event);
    }
  }),
});
