import { describe, expect, it } from "vitest";
import { expandPattern, formatBytes, formatPort, formatRate, splitList, statusTone } from "./format";

describe("format", () => {
  it("formats bytes and rates", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MiB");
    expect(formatRate(-3)).toBe("0 B/s");
    expect(formatRate(2048.4)).toBe("2.0 KiB/s");
  });

  it("formats published ports as host → sandbox", () => {
    expect(formatPort({ protocol: "tcp", hostPort: 8080, sandboxPort: 80 })).toBe("tcp 8080→80");
    expect(formatPort({ protocol: "udp", hostPort: 5353, sandboxPort: 53 })).toBe("udp 5353→53");
  });

  it("splits lists on commas and spaces", () => {
    expect(splitList(" nobody, www-data  labuser ,")).toEqual(["nobody", "www-data", "labuser"]);
    expect(splitList("  ")).toEqual([]);
  });

  it("expands bulk patterns, keeping zero padding", () => {
    expect(expandPattern("lab-1..3")).toEqual(["lab-1", "lab-2", "lab-3"]);
    expect(expandPattern("web-08..10")).toEqual(["web-08", "web-09", "web-10"]);
    expect(expandPattern("one")).toEqual(["one"]);
    expect(expandPattern("")).toBeNull();
    expect(expandPattern("x-5..1")).toBeNull();
  });

  it("gives each status a tone", () => {
    expect(statusTone("ok")).toBe("green");
    expect(statusTone("drift")).toBe("amber");
    expect(statusTone("error")).toBe("rose");
    expect(statusTone("other")).toBe("slate");
  });
});
