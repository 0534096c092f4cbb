/**
 * The credentials a request may carry: `Authorization: Bearer X`, Basic auth's password (what
 * ffmpeg and curl send for `http://user:pass@host/…`), `?token=X` and `?jwt=X`.
 *
 * @module
 */

import { timingSafeEqual } from "../bearer_token.ts";

/** What a request carries, each part only when present and not empty. */
export interface Credentials {
  bearer?: string;
  basicPassword?: string;
  queryToken?: string;
  queryJwt?: string;
}

function basicPasswordOf(header: string): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!basic) return undefined;
  let decoded: string;
  try {
    decoded = atob(basic[1]);
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}

/**
 * The credentials of `request`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { credentialsOf } from "./credentials.ts";
 * const request = new Request("http://host/live/a?token=abc", {
 *   headers: { authorization: "Bearer xyz" },
 * });
 * assertEquals(credentialsOf(request), { bearer: "xyz", queryToken: "abc" });
 * ```
 */
export function credentialsOf(request: Request): Credentials {
  const header = (request.headers.get("authorization") ?? "").trim();
  const query = new URL(request.url).searchParams;
  const found: Credentials = {};
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer) found.bearer = bearer;
  const password = basicPasswordOf(header);
  if (password) found.basicPassword = password;
  const token = query.get("token");
  if (token) found.queryToken = token;
  const jwt = query.get("jwt");
  if (jwt) found.queryJwt = jwt;
  return found;
}

/** Whether any credential is present. */
export function hasCredentials(c: Credentials): boolean {
  return Object.keys(c).length > 0;
}

/** The token to show an auth service: the first present of Bearer, password, `token`, `jwt`. */
export function tokenOf(c: Credentials): string | undefined {
  return c.bearer ?? c.basicPassword ?? c.queryToken ?? c.queryJwt;
}

/**
 * Whether one of `candidates` equals `expected`, compared in constant time; every candidate is
 * compared, so the time does not tell which one matched.
 */
export function matchesAny(candidates: readonly (string | undefined)[], expected: string): boolean {
  let found = false;
  for (const c of candidates) if (c !== undefined && timingSafeEqual(c, expected)) found = true;
  return found;
}
