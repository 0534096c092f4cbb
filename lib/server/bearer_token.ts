/**
 * Bearer-token checks for the admin and ingest endpoints.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Compares two strings in time that depends only on the length of `expected`, so an attacker
 * cannot find a token byte by byte from response times.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { timingSafeEqual } from "./bearer_token.ts";
 * assert(timingSafeEqual("s3cret", "s3cret"));
 * assert(!timingSafeEqual("s3creT", "s3cret"));
 * ```
 */
export function timingSafeEqual(actual: string, expected: string): boolean {
  const a = encoder.encode(actual);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i];
  return diff === 0;
}

/** Whether `request` carries `Authorization: Bearer <token>`. */
export function hasBearerToken(request: Request, token: string): boolean {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match !== null && timingSafeEqual(match[1], token);
}
