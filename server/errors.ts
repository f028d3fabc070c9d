import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";
import { ZodError } from "zod";

/** The `appCode` values of API.md: what went wrong, in words a client can switch on. */
export const APP_CODES = [
  "NAME_INVALID",
  "NAME_TAKEN",
  "NOT_FOUND",
  "INPUT_INVALID",
  "ADDRESS_CONFLICT",
  "POOL_EXHAUSTED",
  "CONFLICT",
  "LIMIT",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "APPLY_FAILED",
  "HOST_UNSUPPORTED",
  "INTERNAL",
] as const;
export type AppCode = (typeof APP_CODES)[number];

export type FieldErrors = Record<string, string[]>;

/** Extra facts an error carries to the client, for example the command that failed. */
export interface AppErrorDetail {
  fieldErrors?: FieldErrors;
  command?: string[];
  stderr?: string;
  [key: string]: unknown;
}

/** The one error type of nslab's services; mapped to a tRPC error in `toTRPCError`. */
export class AppError extends Error {
  constructor(
    public readonly appCode: AppCode,
    message: string,
    public readonly detail: AppErrorDetail = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}

const TRPC_CODE_OF: Record<AppCode, TRPC_ERROR_CODE_KEY> = {
  NAME_INVALID: "BAD_REQUEST",
  NAME_TAKEN: "CONFLICT",
  NOT_FOUND: "NOT_FOUND",
  INPUT_INVALID: "BAD_REQUEST",
  ADDRESS_CONFLICT: "CONFLICT",
  POOL_EXHAUSTED: "CONFLICT",
  CONFLICT: "CONFLICT",
  LIMIT: "TOO_MANY_REQUESTS",
  UNAUTHENTICATED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  APPLY_FAILED: "INTERNAL_SERVER_ERROR",
  HOST_UNSUPPORTED: "INTERNAL_SERVER_ERROR",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

const APP_CODE_OF_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, AppCode>> = {
  UNAUTHORIZED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  TOO_MANY_REQUESTS: "LIMIT",
  PAYLOAD_TOO_LARGE: "INPUT_INVALID",
  BAD_REQUEST: "INPUT_INVALID",
  PARSE_ERROR: "INPUT_INVALID",
  METHOD_NOT_SUPPORTED: "INPUT_INVALID",
};

/** Fields whose failure means a bad name rather than other bad input. */
const NAME_FIELDS = new Set(["name", "names", "sandbox"]);

/** Turns zod's issues into `{ "field.path": [messages] }`. */
export function zodFieldErrors(error: ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.map(String).join(".") : "(input)";
    const message =
      issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message;
    const fieldKey = issue.code === "unrecognized_keys" && !issue.path.length ? issue.keys.join(",") : key;
    (out[fieldKey] ??= []).push(message);
  }
  return out;
}

/** The app code for a validation failure: NAME_INVALID when only a name field failed. */
function appCodeOfZod(error: ZodError): AppCode {
  const roots = error.issues.map((i) => String(i.path[0] ?? ""));
  const tails = error.issues.map((i) => String(i.path[i.path.length - 1] ?? ""));
  const nameOnly = error.issues.every((_, k) => NAME_FIELDS.has(roots[k]!) || tails[k] === "name");
  return nameOnly ? "NAME_INVALID" : "INPUT_INVALID";
}

/** A message that names the failing fields, for clients that only show `message`. */
function zodMessage(error: ZodError): string {
  const fields = zodFieldErrors(error);
  return `Invalid input: ${Object.entries(fields)
    .map(([field, messages]) => `${field}: ${messages.join("; ")}`)
    .join("; ")}`;
}

/** Maps any thrown value to the TRPCError the client sees (the one place this happens). */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    if (error.cause instanceof ZodError) {
      return new TRPCError({ code: "BAD_REQUEST", message: zodMessage(error.cause), cause: error.cause });
    }
    return error;
  }
  if (error instanceof ZodError) {
    return new TRPCError({ code: "BAD_REQUEST", message: zodMessage(error), cause: error });
  }
  if (error instanceof AppError) {
    return new TRPCError({ code: TRPC_CODE_OF[error.appCode], message: error.message, cause: error });
  }
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Internal error", cause: error });
}

/** The `data` fields nslab adds to every tRPC error shape: appCode, fieldErrors, detail. */
export function errorData(error: TRPCError): {
  appCode: AppCode;
  fieldErrors?: FieldErrors;
  detail?: Omit<AppErrorDetail, "fieldErrors">;
} {
  const cause = error.cause;
  if (cause instanceof ZodError) {
    return { appCode: appCodeOfZod(cause), fieldErrors: zodFieldErrors(cause) };
  }
  if (cause instanceof AppError) {
    const { fieldErrors, ...detail } = cause.detail;
    return {
      appCode: cause.appCode,
      ...(fieldErrors ? { fieldErrors } : {}),
      ...(Object.keys(detail).length ? { detail } : {}),
    };
  }
  return { appCode: APP_CODE_OF_TRPC[error.code] ?? "INTERNAL" };
}
