/**
 * Sources pushed over HTTP: `PUT` or `POST /live/NAME` with a Matroska/WebM body (ffmpeg
 * `-method PUT -f matroska http://…`, `curl -T file.mkv …`), chunked or not.
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import { ingest } from "../ingest/ingest.ts";
import { type Logger, SILENT } from "../log.ts";
import { MountBusyError, type MountRegistry } from "../stream/mount_registry.ts";
import { hasBearerToken, timingSafeEqual } from "./bearer_token.ts";
import { textResponse as text } from "./text_response.ts";

/** Whether the request carries the source token, as a Bearer token or as Basic auth's password. */
function authorized(request: Request, token: string): boolean {
  if (hasBearerToken(request, token)) return true;
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
  if (!basic) return false;
  let decoded = "";
  try {
    decoded = atob(basic[1]);
  } catch {
    return false;
  }
  return timingSafeEqual(decoded.slice(decoded.indexOf(":") + 1), token);
}

/** Options of `handlePush`. */
export interface PushOptions {
  /** Where the pushed source is published. */
  registry: MountRegistry;
  /** The source token the request must carry (absent: the caller has checked access). */
  token?: string;
  log?: Logger;
  /** The source's `address:port`, for the `publish` event. */
  address?: string;
}

/**
 * Ingests a pushed source into mount `name` until its body ends, then answers `200` with what
 * was received. `401` without the token (when one is given), `409` when the mount already has a source, `400` for
 * a body that is not Matroska/WebM or is malformed (everything before the fault was served).
 */
export async function handlePush(
  request: Request,
  name: string,
  options: PushOptions,
): Promise<Response> {
  const { registry, token, log = SILENT } = options;
  if (token !== undefined && !authorized(request, token)) {
    log.warn(`Refused a source for /live/${name}: no valid token`);
    return text(STATUS_CODE.Unauthorized, "A valid source token is needed", {
      "www-authenticate": 'Bearer realm="mkserver", Basic realm="mkserver"',
    });
  }
  if (request.body === null) return text(STATUS_CODE.BadRequest, "The request has no body");
  let publication;
  try {
    publication = registry.publish(name, { address: options.address });
  } catch (error) {
    await request.body.cancel().catch(() => {});
    if (error instanceof MountBusyError) return text(STATUS_CODE.Conflict, error.message);
    throw error;
  }
  log.info(`Source connected to /live/${name}`);
  try {
    const result = await ingest(request.body, publication, {
      log,
      signal: publication.mount.stopSignal,
    });
    const how = result.truncated ? ` (ended mid-element: ${result.truncated.message})` : "";
    log.info(`Source of /live/${name} ended after ${result.bytes} bytes${how}`);
    return text(STATUS_CODE.OK, `Received ${result.bytes} bytes, ${result.blocks} blocks${how}`);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    log.warn(`Source of /live/${name} failed: ${message}`);
    await request.body.cancel().catch(() => {});
    return text(STATUS_CODE.BadRequest, `The source failed: ${message}`);
  } finally {
    publication.finish();
  }
}
