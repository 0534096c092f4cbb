/**
 * The player page's two small routes beside a mount's stream:
 * - `GET /live/NAME/edge`: the live edge, `{"liveTime": S}`, the media time (seconds, the
 *   stream's timeline) of the newest block the server has received;
 * - `POST /live/NAME/latency` with the form body `viewer=ID&seconds=S`: viewer ID's report of
 *   how far behind that edge it plays, counted in `/metrics` (`ViewerLatency`).
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import type { Mount } from "../stream/mount.ts";
import { textResponse as text } from "./text_response.ts";
import type { ViewerLatency } from "./viewer_latency.ts";

/** `/live/NAME/edge` and `/live/NAME/latency`. */
export const LATENCY_PATH = /^\/live\/([^/]+)\/(edge|latency)$/;

/** The largest report body read (bytes): `viewer=4294967295&seconds=3600.000000` fits. */
const MAX_BODY = 256;

const VIEWER = /^[1-9][0-9]{0,9}$/;
const SECONDS = /^[0-9]{1,4}(\.[0-9]{1,6})?$/;

const NO_STORE = { "cache-control": "no-store" };

/** The body as text, or `undefined` when it is longer than `max` bytes (the rest is cancelled). */
async function boundedText(request: Request, max: number): Promise<string | undefined> {
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > max) {
    await request.body?.cancel();
    return undefined;
  }
  if (request.body === null) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    // Leaving the loop early cancels the body.
    if (size > max) return undefined;
    parts.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** What the routes need of the handler. */
export interface LatencyRouteOptions {
  /** The mount named in the path (undefined: no such mount). */
  mount: Mount | undefined;
  reports: ViewerLatency;
  /** The reporter's host (its address without the port). */
  host: string;
}

function edge(mount: Mount, head: boolean): Response {
  const body = JSON.stringify({ liveTime: mount.status(0).liveTime });
  return new Response(head ? null : body, {
    headers: {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
      ...NO_STORE,
    },
  });
}

async function report(request: Request, options: LatencyRouteOptions): Promise<Response> {
  const { mount, reports, host } = options;
  const body = await boundedText(request, MAX_BODY);
  if (body === undefined) {
    return text(413, `A report has at most ${MAX_BODY} bytes`, NO_STORE);
  }
  const form = new URLSearchParams(body);
  const viewer = form.get("viewer") ?? "";
  const seconds = form.get("seconds") ?? "";
  if (!VIEWER.test(viewer) || !SECONDS.test(seconds)) {
    return text(
      STATUS_CODE.BadRequest,
      "A report is the form viewer=ID&seconds=S (S a number of seconds)",
      NO_STORE,
    );
  }
  if (mount === undefined) return text(STATUS_CODE.NotFound, "No such mount", NO_STORE);
  const refused = reports.record(mount.name, Number(viewer), host, Number(seconds));
  if (refused === "out-of-range") {
    return text(STATUS_CODE.BadRequest, "seconds is out of range", NO_STORE);
  }
  if (refused === "unknown-viewer") {
    return text(
      STATUS_CODE.NotFound,
      `No viewer ${viewer} of ${mount.name} is connected from this address`,
      NO_STORE,
    );
  }
  if (refused === "too-soon") {
    return text(429, "One report a second", {
      ...NO_STORE,
      "retry-after": "1",
    });
  }
  return new Response(null, { status: STATUS_CODE.NoContent, headers: NO_STORE });
}

/**
 * Answers `GET`/`HEAD /live/NAME/edge` and `POST /live/NAME/latency` (`kind` is the path's
 * last part).
 */
export async function latencyRoute(
  request: Request,
  kind: "edge" | "latency",
  options: LatencyRouteOptions,
): Promise<Response> {
  const method = request.method;
  if (kind === "edge") {
    if (method !== "GET" && method !== "HEAD") {
      await request.body?.cancel();
      return text(STATUS_CODE.MethodNotAllowed, `Method not allowed: ${method}`, {
        allow: "GET, HEAD",
      });
    }
    if (options.mount === undefined) return text(STATUS_CODE.NotFound, "No such mount", NO_STORE);
    return edge(options.mount, method === "HEAD");
  }
  if (method !== "POST") {
    await request.body?.cancel();
    return text(STATUS_CODE.MethodNotAllowed, `Method not allowed: ${method}`, { allow: "POST" });
  }
  return await report(request, options);
}
