import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

/** loadConfig on exactly these variables (Next's types make NODE_ENV required in ProcessEnv). */
const load = (env: Record<string, string>) => loadConfig(env as NodeJS.ProcessEnv);

/** The ConfigError loadConfig throws for `env`; fails the test when it does not throw one. */
function configError(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("gives the documented defaults for an empty environment", () => {
    const config = load({});
    expect(config.NSLAB_DATA_DIR).toBe("./data");
    expect(config.dataDir).toBe(path.resolve("./data"));
    expect(config.NSLAB_HOST).toBe("127.0.0.1");
    expect(config.NSLAB_PORT).toBe(3000);
    expect(config.NSLAB_POOL).toBe("10.200.0.0/16");
    expect(config.NSLAB_ADMIN_PASSWORD).toBeUndefined();
    expect(config.NSLAB_RECONCILE_SECONDS).toBe(30);
    expect(config.NSLAB_PROCESS_LIMIT).toBe(20);
    expect(config.NSLAB_ENGINE).toBe("on");
  });

  it("takes NSLAB_ENGINE on or off and names any other value", () => {
    expect(load({ NSLAB_ENGINE: "off" }).NSLAB_ENGINE).toBe("off");
    const error = configError({ NSLAB_ENGINE: "maybe" });
    expect(error.message).toContain('NSLAB_ENGINE="maybe": must be "on" or "off"');
  });

  it("reads and converts good values", () => {
    const config = load({
      NSLAB_DATA_DIR: "/var/lib/nslab",
      NSLAB_HOST: "0.0.0.0",
      NSLAB_PORT: "8443",
      NSLAB_ADMIN_PASSWORD: "correct horse battery",
      NSLAB_POOL: "172.30.0.0/20",
      NSLAB_RECONCILE_SECONDS: "0",
      NSLAB_PROCESS_LIMIT: "5",
    });
    expect(config.dataDir).toBe("/var/lib/nslab");
    expect(config.NSLAB_HOST).toBe("0.0.0.0");
    expect(config.NSLAB_PORT).toBe(8443);
    expect(config.NSLAB_ADMIN_PASSWORD).toBe("correct horse battery");
    expect(config.NSLAB_POOL).toBe("172.30.0.0/20");
    expect(config.NSLAB_RECONCILE_SECONDS).toBe(0);
    expect(config.NSLAB_PROCESS_LIMIT).toBe(5);
  });

  it("treats an empty variable as unset (NSLAB_ADMIN_PASSWORD='' means: generate one)", () => {
    const config = load({ NSLAB_ADMIN_PASSWORD: "", NSLAB_PORT: "", NSLAB_HOST: "" });
    expect(config.NSLAB_ADMIN_PASSWORD).toBeUndefined();
    expect(config.NSLAB_PORT).toBe(3000);
    expect(config.NSLAB_HOST).toBe("127.0.0.1");
  });

  it("ignores variables that are not nslab's", () => {
    expect(() => load({ PATH: "/usr/bin", NSLAB_UNKNOWN_THING: "x" })).not.toThrow();
  });

  const bad: Array<[string, string]> = [
    ["NSLAB_PORT", "abc"],
    ["NSLAB_PORT", "0"],
    ["NSLAB_PORT", "65536"],
    ["NSLAB_PORT", "80.5"],
    ["NSLAB_HOST", "bad host;rm"],
    ["NSLAB_POOL", "10.200.0.0"],
    ["NSLAB_POOL", "10.200.0.0/31"],
    ["NSLAB_POOL", "300.1.0.0/16"],
    ["NSLAB_POOL", "fd00::/64"],
    ["NSLAB_RECONCILE_SECONDS", "-1"],
    ["NSLAB_RECONCILE_SECONDS", "often"],
    ["NSLAB_PROCESS_LIMIT", "0"],
    ["NSLAB_LOG_LEVEL", "chatty"],
  ];
  it.each(bad)("refuses %s=%s, naming the variable and the value", (key, value) => {
    const error = configError({ [key]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(key);
    expect(error.problems[0]).toContain(JSON.stringify(value));
    expect(error.message).toContain("bad configuration");
    expect(error.message).toContain(key);
  });

  it("names every bad variable at once", () => {
    const error = configError({ NSLAB_PORT: "http", NSLAB_POOL: "everything", NSLAB_HOST: "a b" });
    const keys = error.problems.map((p) => p.split("=")[0]).sort();
    expect(keys).toEqual(["NSLAB_HOST", "NSLAB_POOL", "NSLAB_PORT"]);
  });

  it("says why a port is bad", () => {
    expect(configError({ NSLAB_PORT: "70000" }).message).toMatch(/1-65535/);
    expect(configError({ NSLAB_PORT: "abc" }).message).toMatch(/must be a number/);
  });

  it("never shows the admin password, even when it is the bad value", () => {
    const secret = "short7!";
    const error = configError({ NSLAB_ADMIN_PASSWORD: secret });
    expect(error.problems[0]).toContain("NSLAB_ADMIN_PASSWORD");
    expect(error.problems[0]).toContain("(hidden)");
    expect(error.message).not.toContain(secret);
    expect(error.message).toMatch(/at least 8/);
  });
});
