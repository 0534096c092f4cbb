/**
 * The peer of a request, as the handler logs and checks it.
 *
 * @module
 */

import type { HandlerInfo } from "./handler_options.ts";

/** The peer's IP address, when the connection has one. */
export function peerAddress(info?: HandlerInfo): string | undefined {
  const addr = info?.remoteAddr as { hostname?: string } | undefined;
  return addr?.hostname || undefined;
}

/** The peer as `host:port` for log lines ("unknown" without one). */
export function describePeer(info?: HandlerInfo): string {
  const host = peerHost(info);
  return host === "unknown" ? host : `${host}:${(info?.remoteAddr as { port?: number }).port}`;
}

/** The peer's host ("unknown" without one). */
export function peerHost(info?: HandlerInfo): string {
  const addr = info?.remoteAddr as { hostname?: string } | undefined;
  return addr?.hostname ? addr.hostname : "unknown";
}
