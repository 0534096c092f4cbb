/**
 * The admin API under `/admin/`, present only when a token is configured.
 *
 * @module
 */

import { badMountName, decodeMountName } from "./mount_name.ts";
import { STATUS_CODE } from "@std/http/status";
import { type Logger, SILENT } from "../log.ts";
import type { MountRegistry } from "../stream/mount_registry.ts";
import { hasBearerToken } from "./bearer_token.ts";

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function notAllowed(allow: string): Response {
  return new Response(`Method not allowed (use ${allow})\n`, {
    status: STATUS_CODE.MethodNotAllowed,
    headers: { allow, "content-type": "text/plain" },
  });
}

/** Options of `handleAdmin`. */
export interface AdminOptions {
  /** The mounts it lists, disconnects viewers of, and ends. */
  registry: MountRegistry;
  /** The bearer token a request must carry. */
  token: string;
  log?: Logger;
}

/**
 * Answers `/admin/...` with `Authorization: Bearer TOKEN`:
 * - `GET /admin/viewers`: every viewer of every mount (mount, id, address, joined at, bytes
 *   sent, skips);
 * - `DELETE /admin/viewers/ID`: disconnects a viewer (204, or 404);
 * - `POST /admin/mounts/NAME/end`: ends a mount's stream (202): its source stops, viewers get
 *   what was sent and their responses end.
 *
 * Without the token: 401. Log lines never include the token.
 */
export function handleAdmin(request: Request, options: AdminOptions): Response {
  const { registry: mounts, token, log = SILENT } = options;
  const path = new URL(request.url).pathname.replace(/\/+$/, "");
  if (!hasBearerToken(request, token)) {
    log.warn(`Refused an admin request without a valid token: ${request.method} ${path}`);
    return json(STATUS_CODE.Unauthorized, {
      error: "A valid 'Authorization: Bearer' token is needed",
    });
  }
  const method = request.method;
  if (path === "/admin/viewers") {
    if (method !== "GET") return notAllowed("GET");
    const viewers = mounts.list().flatMap((m) => m.viewers().map((v) => ({ mount: m.name, ...v })));
    return json(STATUS_CODE.OK, { viewers });
  }
  const viewer = /^\/admin\/viewers\/(\d+)$/.exec(path);
  if (viewer) {
    if (method !== "DELETE") return notAllowed("DELETE");
    const id = Number(viewer[1]);
    if (!mounts.list().some((m) => m.disconnect(id))) {
      return json(STATUS_CODE.NotFound, { error: `No viewer ${id}` });
    }
    log.info(`Admin: disconnected viewer #${id}`);
    return new Response(null, { status: STATUS_CODE.NoContent });
  }
  const end = /^\/admin\/mounts\/([^/]+)\/end$/.exec(path);
  if (end) {
    if (method !== "POST") return notAllowed("POST");
    const name = decodeMountName(end[1]);
    if (name === undefined) return json(STATUS_CODE.BadRequest, { error: badMountName(path) });
    const mount = mounts.get(name);
    if (mount === undefined) return json(STATUS_CODE.NotFound, { error: `No mount ${name}` });
    log.info(`Admin: ending mount ${name}`);
    mount.requestEnd();
    return json(STATUS_CODE.Accepted, { mount: name, state: "ending" });
  }
  return json(STATUS_CODE.NotFound, { error: `Not found: ${path}` });
}
