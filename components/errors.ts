import { TRPCClientError } from "@trpc/client";

/** What the UI needs from a failed call: the app code, a message, field errors, detail. */
export interface ShownError {
  appCode: string;
  message: string;
  fieldErrors: Record<string, string[]>;
  command?: string[];
  stderr?: string;
}

/** Plain words for each app code, shown above the server's own message. */
const WORDS: Record<string, string> = {
  NAME_INVALID: "That name is not allowed.",
  NAME_TAKEN: "That name is already in use.",
  NOT_FOUND: "It no longer exists.",
  INPUT_INVALID: "Some input is not valid.",
  ADDRESS_CONFLICT: "That address range overlaps one already in use.",
  POOL_EXHAUSTED: "The address pool is full.",
  CONFLICT: "Someone else changed this meanwhile, or it is already in use.",
  LIMIT: "A limit was reached.",
  UNAUTHENTICATED: "You are not signed in.",
  FORBIDDEN: "You are not allowed to do that.",
  APPLY_FAILED: "The kernel refused a step; everything done so far was undone.",
  HOST_UNSUPPORTED: "This host lacks a tool or kernel feature nslab needs.",
  INTERNAL: "Something went wrong on the server.",
};

/** Reads a tRPC client error into what the UI shows. */
export function readError(error: unknown): ShownError {
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? {}) as {
      appCode?: string;
      fieldErrors?: Record<string, string[]>;
      detail?: { command?: string[]; stderr?: string };
    };
    return {
      appCode: data.appCode ?? "INTERNAL",
      message: error.message,
      fieldErrors: data.fieldErrors ?? {},
      command: data.detail?.command,
      stderr: data.detail?.stderr,
    };
  }
  return { appCode: "INTERNAL", message: (error as Error)?.message ?? String(error), fieldErrors: {} };
}

/** The plain-words line for an app code. */
export function wordsFor(appCode: string): string {
  return WORDS[appCode] ?? WORDS.INTERNAL!;
}
