import path from "node:path";
import { z } from "zod";
import { Address4 } from "ip-address";

/** A CIDR of IPv4, checked with ip-address (the pool the sandboxes' subnets come from). */
const ipv4Cidr = z.string().refine(
  (value) => {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value)) return false;
    return Address4.isValid(value) && Number(value.split("/")[1]) <= 30;
  },
  { message: "must be an IPv4 CIDR with a prefix of /30 or shorter, like 10.200.0.0/16" },
);

const configSchema = z.object({
  NSLAB_DATA_DIR: z.string().min(1).default("./data"),
  NSLAB_HOST: z
    .string()
    .min(1)
    .refine((v) => /^[0-9a-zA-Z.:-]+$/.test(v), { message: "must be a host name or IP address" })
    .default("127.0.0.1"),
  NSLAB_PORT: z.coerce
    .number({ message: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be 1-65535")
    .max(65535, "must be 1-65535")
    .default(3000),
  NSLAB_ADMIN_PASSWORD: z.string().min(8, "must be at least 8 characters").max(256).optional(),
  NSLAB_POOL: ipv4Cidr.default("10.200.0.0/16"),
  /** Seconds between reconcile passes. */
  NSLAB_RECONCILE_SECONDS: z.coerce.number().int().min(0).max(86400).default(30),
  /** Running programs one console user may have at once. */
  NSLAB_PROCESS_LIMIT: z.coerce.number().int().min(1).max(10000).default(20),
  /** Bytes of stdout and of stderr kept per program (the newest part). */
  NSLAB_PROCESS_LOG_BYTES: z.coerce.number().int().min(4096).max(1024 ** 3).default(1024 * 1024),
  /** Seconds process.stop waits after TERM/INT before it sends KILL. */
  NSLAB_PROCESS_STOP_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(5),
  /** `off` runs the console without touching the network (no reconcile, no layout). */
  NSLAB_ENGINE: z.enum(["on", "off"], { message: 'must be "on" or "off"' }).default("on"),
  NSLAB_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type Config = z.infer<typeof configSchema> & { dataDir: string };

/** Thrown when the environment holds a bad value; its message names every bad variable. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`nslab: bad configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates nslab's configuration from environment variables. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== "") picked[key] = value;
  }
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? "?");
        const shown = key === "NSLAB_ADMIN_PASSWORD" ? "(hidden)" : JSON.stringify(picked[key]);
        return `${key}=${shown}: ${issue.message}`;
      }),
    );
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.NSLAB_DATA_DIR) };
}
