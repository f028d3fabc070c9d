// The lab reset empties a firewall wholesale: it must refuse to run in the host's network
// namespace, whatever the environment claims. These run on the host (unit layer) and only
// exercise the refusals.
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without type declarations
import { inPrivateNetns, resetLab } from "./lab/reset.mjs";
import { inPrivateNetns as testSupportInPrivateNetns } from "../test-support/lab";

const saved = { lab: process.env.NSLAB_LAB, host: process.env.NSLAB_HOST_NETNS };
afterEach(() => {
  for (const [key, value] of [["NSLAB_LAB", saved.lab], ["NSLAB_HOST_NETNS", saved.host]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const own = fs.readlinkSync("/proc/self/ns/net");

describe("the lab guard", () => {
  it("is not fooled by NSLAB_LAB=1 alone", async () => {
    process.env.NSLAB_LAB = "1";
    delete process.env.NSLAB_HOST_NETNS;
    expect(inPrivateNetns()).toBe(false);
    await expect(resetLab({ ipForward: "0" })).rejects.toThrow(/not inside the private lab/);
  });

  it("refuses when the recorded host namespace is this process's own", async () => {
    process.env.NSLAB_LAB = "1";
    process.env.NSLAB_HOST_NETNS = own;
    expect(inPrivateNetns()).toBe(false);
    expect(testSupportInPrivateNetns()).toBe(false);
    await expect(resetLab({ ipForward: "0" })).rejects.toThrow(/not inside the private lab/);
  });

  it("accepts a namespace other than the recorded host's", () => {
    process.env.NSLAB_HOST_NETNS = "net:[1]";
    expect(testSupportInPrivateNetns()).toBe(true);
  });
});
