/**
 * The handler's gate: unwraps signed paths (`/s/EXPIRY/SIG/PATH`), works out what a request
 * wants (to watch or publish which mount), and asks the `AccessPolicy`. Guarded: `/`, `/stream…`
 * and every `/live/NAME…` path (HLS and DASH included). Not guarded: `/status`, `/metrics`,
 * `/time`, the admin API (its own token), the player page's HTML (it holds no media; the
 * stream it plays carries the page's own credentials) and the page's `/live/NAME/edge` (a media
 * time) and `/live/NAME/latency` (reports, taken only for a connected viewer from its address).
 *
 * @module
 */

import { LATENCY_PATH } from "../latency_route.ts";
import { decodeMountName } from "../mount_name.ts";
import { accepts } from "@std/http/negotiation";
import type { AccessPolicy } from "./access_policy.ts";
import type { Action } from "./jwt_verifier.ts";

/** What the handler does next. */
export type Guarded =
  /**
   * Serve `pathname` (a signed path's inner path). `prefix` is the signed part (`/s/E/SIG`,
   * or empty); a `shared` answer may be cached as it is, otherwise it is made `private`.
   */
  | { pass: true; pathname: string; prefix: string; shared: boolean }
  | { pass: false; response: Response };

/** What `guardRequest` needs beside the request. */
export interface GuardOptions {
  /** The request's path. */
  pathname: string;
  /** The peer's address, when known. */
  ip?: string;
  /** The mount `/`, `/stream…` serve. */
  defaultMount: string;
}

const LIVE = /^\/live\/([^/]+)(\/.*)?$/;
const DEFAULT_STREAMS = new Set(["/stream", "/stream.mkv", "/stream.webm"]);

/** Whether `/` answers `request` with the player page (browsers ask for HTML first). */
export function wantsPage(request: Request): boolean {
  return accepts(request, "video/webm", "text/html") === "text/html";
}

/**
 * The stream the player page plays: under the page's signed prefix, with its `token` or `jwt`
 * (a `<video>` sends no Authorization header of its own).
 */
export function pageStreamUrl(request: Request, prefix: string): string {
  const query = new URL(request.url).searchParams;
  const carried = new URLSearchParams();
  for (const name of ["token", "jwt"]) {
    const value = query.get(name);
    if (value) carried.set(name, value);
  }
  const search = carried.size > 0 ? `?${carried}` : "";
  return `${prefix}/stream${search}`;
}

/**
 * `response` made `private` where it was `public`: let in by a credential of its own, it must
 * not be handed to others by a shared cache (RFC 9111 §5.2.2.7).
 */
export function keepPrivate(response: Response): Response {
  const cache = response.headers.get("cache-control");
  if (cache?.startsWith("public")) {
    response.headers.set("cache-control", cache.replace(/^public/, "private"));
  }
  return response;
}

/** The action and mount of a guarded route; undefined for one that is not guarded. */
function targetOf(
  request: Request,
  pathname: string,
  defaultMount: string,
): { action: Action; mount: string } | undefined {
  if (LATENCY_PATH.test(pathname)) return undefined;
  const live = LIVE.exec(pathname);
  if (live) {
    const mount = decodeMountName(live[1]);
    if (mount === undefined) return undefined; // the handler refuses the name
    const push = live[2] === undefined && (request.method === "PUT" || request.method === "POST");
    return { action: push ? "publish" : "read", mount };
  }
  if (DEFAULT_STREAMS.has(pathname) || (pathname === "/" && !wantsPage(request))) {
    return { action: "read", mount: defaultMount };
  }
  return undefined;
}

function forbidden(reason: string): Guarded {
  return {
    pass: false,
    response: new Response(reason + "\n", {
      status: 403,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        "access-control-allow-origin": "*",
      },
    }),
  };
}

/** The answer to a CORS preflight: viewers may send `Authorization` from any origin. */
function preflight(): Guarded {
  return {
    pass: false,
    response: new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD",
        "access-control-allow-headers": "authorization",
        "access-control-max-age": "600",
        "cache-control": "no-store",
      },
    }),
  };
}

/**
 * Decides whether the handler serves `request`, and which path.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AccessPolicy } from "./access_policy.ts";
 * import { guardRequest } from "./access_guard.ts";
 * const policy = new AccessPolicy({ viewToken: "t0ken" });
 * const request = new Request("http://host/status");
 * const guarded = await guardRequest(policy, request, { pathname: "/status", defaultMount: "stream" });
 * assertEquals(guarded.pass, true);
 * ```
 */
export async function guardRequest(
  policy: AccessPolicy,
  request: Request,
  options: GuardOptions,
): Promise<Guarded> {
  let pathname = options.pathname;
  let prefix = "";
  let signed = false;
  const found = await policy.urlSigner?.verify(pathname);
  if (found) {
    // DASH's UTCTiming is relative (`../../time`): under a signed prefix it is still the clock.
    if (found.path === "/time") return { pass: true, pathname: "/time", prefix, shared: true };
    if (!found.ok) {
      policy.logRefusal(`a signed request for ${found.path}`, options.ip, `${found.reason} (403)`);
      return forbidden(found.reason);
    }
    ({ path: pathname, prefix } = found);
    signed = true;
  }
  const target = targetOf(request, pathname, options.defaultMount);
  if (target === undefined) return { pass: true, pathname, prefix, shared: true };
  // A page on another origin that sends Authorization (hls.js, dash.js) asks first (CORS).
  if (request.method === "OPTIONS" && target.action === "read") return preflight();
  const decision = await policy.check({ request, ...target, ip: options.ip, signed });
  if (!decision.allow) return { pass: false, response: decision.response };
  return { pass: true, pathname, prefix, shared: decision.shared };
}
