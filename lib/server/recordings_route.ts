/**
 * A mount's recordings over HTTP: `GET /live/NAME/recordings` (a JSON list) and
 * `GET /live/NAME/recordings/FILE` (the file, with byte ranges).
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import { errorMessage, type Logger } from "../log.ts";
import { parseRecordingName } from "../record/recording_name.ts";
import type { RecordingStore } from "../record/recordings.ts";
import { MountRegistry } from "../stream/mount_registry.ts";
import { fileResponse } from "./file_response.ts";
import { textResponse as text } from "./text_response.ts";

/** `/live/NAME/recordings` and `/live/NAME/recordings/FILE`. */
export const RECORDINGS_PATH = /^\/live\/([^/]+)\/recordings(?:\/([^/]*))?$/;

/** One recording in the JSON list. */
export interface RecordingListing {
  name: string;
  /** Wall-clock time of its first block (ISO 8601). */
  start: string;
  /** Seconds of media (up to its newest Cluster while it is being written). */
  duration: number;
  bytes: number;
  /** Whether the recorder finished it (it has Duration and Cues); else it may be growing. */
  finished: boolean;
  /** Its path on this server. */
  url: string;
}

/** A path segment decoded, or `undefined` for a malformed escape. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Answers a recordings request: `mount` and `file` are the path segments (as in the URL) after
 * `/live/` and `recordings/`. Only mount names and names of the recorder's pattern are served,
 * so no path leaves the mount's folder. Without a store: `404` saying how to enable them.
 */
export async function recordingsRoute(
  request: Request,
  mount: string,
  file: string | undefined,
  options: { store: RecordingStore | undefined; log: Logger },
): Promise<Response> {
  const name = decodeSegment(mount);
  if (name === undefined || !MountRegistry.isValidName(name)) {
    return text(
      STATUS_CODE.BadRequest,
      `Invalid mount name: ${JSON.stringify(mount.slice(0, 80))}`,
    );
  }
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") {
    return text(STATUS_CODE.MethodNotAllowed, `Method not allowed: ${method}`, {
      allow: "GET, HEAD",
    });
  }
  const store = options.store;
  if (store === undefined) {
    return text(STATUS_CODE.NotFound, "Recordings are off: start mkserver with --record DIR");
  }
  const base = `/live/${encodeURIComponent(name)}/recordings`;
  if (file === undefined) {
    const list = await store.list(
      name,
      (skipped, error) =>
        options.log.warn(`Recording ${name}/${skipped} left out: ${errorMessage(error)}`),
    );
    const body: RecordingListing[] = list.map((r) => ({
      name: r.name,
      start: r.start.toISOString(),
      duration: Math.round(r.duration) / 1000,
      bytes: r.bytes,
      finished: r.finished,
      url: `${base}/${r.name}`,
    }));
    return new Response(
      method === "HEAD" ? null : JSON.stringify({ mount: name, recordings: body }),
      {
        headers: {
          "content-type": "application/json",
          "cache-control": "no-store",
          "access-control-allow-origin": "*",
        },
      },
    );
  }
  const decoded = decodeSegment(file) ?? "";
  if (parseRecordingName(decoded) === undefined) {
    return text(
      STATUS_CODE.NotFound,
      `Not a recording: ${
        JSON.stringify(decoded.slice(0, 80))
      } (names are YYYYMMDDTHHMMSS.mmmZ.mkv)`,
    );
  }
  try {
    // A player takes a WebM file by its type (Chromium plays video/webm, not x-matroska).
    const head = await store.head(name, decoded).catch((error) => {
      if (error instanceof Deno.errors.NotFound) throw error;
      return undefined;
    });
    const video = head?.tracks.some((t) => t.kind === "video") ?? true;
    const type = `${video ? "video" : "audio"}/${head?.docType === "webm" ? "webm" : "x-matroska"}`;
    return await fileResponse(request, store.pathOf(name, decoded), { contentType: type });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return text(STATUS_CODE.NotFound, `No recording ${decoded} of ${name}`);
    }
    throw error;
  }
}
