/**
 * Applying a plan: runs its steps in order through the runner (the one serialized
 * queue). When a step fails, the undos of the steps already done run newest first
 * (and the failed step's own undo first, unless it is atomic), then APPLY_FAILED is
 * thrown carrying the failed command and its stderr.
 */
import fs from "node:fs";
import path from "node:path";
import { AppError } from "../errors";
import { log } from "../log";
import { CommandError, type Runner } from "./runner";
import type { Action, Step } from "./plan";

async function perform(runner: Runner, action: Action): Promise<void> {
  if (action.kind === "run") {
    await runner.run(action.command);
  } else if (action.kind === "write") {
    await fs.promises.mkdir(path.dirname(action.path), { recursive: true, mode: 0o755 });
    await fs.promises.writeFile(action.path, action.content, { mode: 0o644 });
  } else {
    await fs.promises.rm(action.path, { force: true });
    // The namespace's /etc directory goes when it holds nothing else.
    await fs.promises.rmdir(path.dirname(action.path)).catch(() => undefined);
  }
}

const describe = (action: Action): string[] =>
  action.kind === "run" ? [...action.command.argv] : [action.kind, action.path];

export interface ApplyResult {
  /** How many steps ran. */
  steps: number;
}

/** Runs `steps`; all or nothing (as far as undo can make it so). */
export async function apply(runner: Runner, steps: readonly Step[]): Promise<ApplyResult> {
  const done: Step[] = [];
  for (const step of steps) {
    try {
      await perform(runner, step.do);
      done.push(step);
    } catch (error) {
      const undos = [...(step.atomic ? [] : step.undo), ...done.reverse().flatMap((s) => s.undo)];
      const undoErrors: string[] = [];
      for (const undo of undos) {
        try {
          await perform(runner, undo);
        } catch (undoError) {
          undoErrors.push((undoError as Error).message);
          log.warn({ err: undoError, step: step.title }, "undo step failed");
        }
      }
      const stderr = error instanceof CommandError ? error.stderr.trim() : (error as Error).message;
      throw new AppError(
        "APPLY_FAILED",
        `The kernel refused a step (${step.title}): ${stderr || (error as Error).message}; everything already done was undone`,
        {
          command: describe(step.do),
          stderr,
          step: step.title,
          ...(step.do.kind === "run" && step.do.command.input ? { input: step.do.command.input } : {}),
          ...(undoErrors.length ? { undoErrors } : {}),
        },
        { cause: error },
      );
    }
  }
  return { steps: done.length };
}
