import { describe, expect, it } from "vitest";
import { SignInLimiter } from "./rate-limit";

/** A limiter on a clock the test moves by hand (no wall-clock time). */
function limiter() {
  let now = 1_000_000;
  const l = new SignInLimiter(3, 10_000, () => now);
  return { l, advance: (ms: number) => (now += ms) };
}

describe("SignInLimiter", () => {
  it("allows three failures, then refuses the fourth try until the oldest failure ages out", () => {
    const { l, advance } = limiter();
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter("ann")).toBe(0);
      l.fail("ann");
      advance(1000);
    }
    expect(l.retryAfter("ann")).toBe(7); // the first failure ages out 7 s from now
    advance(6_500);
    expect(l.retryAfter("ann")).toBe(1);
    advance(500);
    expect(l.retryAfter("ann")).toBe(0);
  });

  it("keeps keys apart", () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.fail("ann");
    expect(l.retryAfter("ann")).toBeGreaterThan(0);
    expect(l.retryAfter("bob")).toBe(0);
  });

  it("forgets a key's failures after reset (a successful sign-in)", () => {
    const { l } = limiter();
    for (let i = 0; i < 3; i++) l.fail("ann");
    l.reset("ann");
    expect(l.retryAfter("ann")).toBe(0);
  });
});
