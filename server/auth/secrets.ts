import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** A random secret, URL-safe, 256 bits. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A short random id for rows that are looked up by id. */
export function newId(bytes = 9): string {
  return randomBytes(bytes).toString("base64url");
}

/** SHA-256 of a secret: what the store keeps, so a stolen database holds no usable secret. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Compares two hex digests in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}
