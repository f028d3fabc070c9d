import pino from "pino";

/** nslab's structured logger (JSON lines on stdout). */
export const log = pino({
  name: "nslab",
  level: process.env.NSLAB_LOG_LEVEL || "info",
  redact: ["password", "*.password", "token", "*.token"],
});
