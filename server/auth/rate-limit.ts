/**
 * A sliding-window counter of failed sign-ins per key (client address + user name).
 * Three failures within the window are allowed; the fourth try is refused until the
 * oldest failure ages out. Successful sign-ins do not count.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 3,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(key: string): number[] {
    const since = this.now() - this.windowMs;
    const kept = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (kept.length) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }

  /** Seconds until another try is allowed, or 0 when the key may try now. */
  retryAfter(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((recent[0]! + this.windowMs - this.now()) / 1000));
  }

  /** Counts one failed sign-in for `key`. */
  fail(key: string): void {
    this.failures.set(key, [...this.recent(key), this.now()]);
  }

  /** Forgets the failures of `key` (after a successful sign-in). */
  reset(key: string): void {
    this.failures.delete(key);
  }
}
