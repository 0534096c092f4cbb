/**
 * The segmented routes of a mount (`/live/NAME/…`): the HLS multivariant and media playlists with
 * blocking reload, the DASH MPD, and the immutable init, segment and part objects, with the cache
 * headers that let any HTTP cache share them between viewers.
 *
 * @module
 */

import { type BlockingRequest, parseBlockingRequest } from "../package/blocking_reload.ts";
import type { Packager } from "../package/packager.ts";
import type { PackagerTable } from "./packagers.ts";
import {
  dashManifest,
  lookupObject,
  mediaPlaylist,
  multivariantPlaylist,
  renditionReady,
} from "../package/segment_views.ts";

/** Requests served, by kind, for `/metrics`. */
export interface SegmentCounters {
  playlist: number;
  manifest: number;
  init: number;
  segment: number;
  part: number;
}

/** A fresh set of counters. */
export function segmentCounters(): SegmentCounters {
  return { playlist: 0, manifest: 0, init: 0, segment: 0, part: 0 };
}

const IMMUTABLE = "public, max-age=31536000, immutable";
/** Browsers revalidate at once; a shared cache reuses a playlist for one second. */
const SHORT = "public, max-age=0, s-maxage=1";
const M3U8 = "application/vnd.apple.mpegurl";

function headers(type: string, cache: string): Headers {
  return new Headers({
    "content-type": type,
    "cache-control": cache,
    "access-control-allow-origin": "*",
  });
}

function refuse(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: headers("text/plain; charset=utf-8", "no-store"),
  });
}

/** What the caller of {@linkcode serveSegments} passes. */
export interface SegmentRequest {
  request: Request;
  packager: Packager;
  /** The path below the mount, e.g. `index.m3u8`, `hls/v1.m3u8`, `e/EPOCH/v1/12.3.m4s`. */
  rest: string;
  /** The mount's progressive URL, for the message when a form is not offered. */
  streamUrl: string;
  counters: SegmentCounters;
}

/** Holds a request at most this many target durations (RFC 8216bis §6.2.5.2: then 503). */
const HOLD_TARGETS = 3;

async function held<T>(
  packager: Packager,
  ready: () => T | undefined,
  signal: AbortSignal,
): Promise<T | undefined> {
  const limit = Date.now() + HOLD_TARGETS * (packager.targetDuration ?? 2) * 1000;
  let value = ready();
  while (value === undefined && Date.now() < limit && !signal.aborted) {
    const track = packager.tracks.values().next().value;
    const store = track?.cmaf ?? track?.webm;
    if (!store) return undefined;
    // Any track's change may complete what is waited for; the first track changes at least as
    // often as the others. Waits are short so that a stalled track cannot hold a request long.
    await store.changed(Math.min(250, limit - Date.now()));
    value = ready();
  }
  return value;
}

function notOffered(kind: "HLS" | "DASH", packager: Packager, streamUrl: string): Response {
  const codecs = packager.forms.noMp4.join(", ");
  const why = kind === "HLS"
    ? `HLS needs codecs with an ISO BMFF (fMP4) form, and this stream has ${codecs}`
    : `DASH needs WebM codecs or codecs with an ISO BMFF form, and this stream has ${codecs}`;
  return refuse(404, `${why}. Watch ${streamUrl} instead (progressive Matroska/WebM)`);
}

async function playlist(req: SegmentRequest, id: string | undefined): Promise<Response> {
  const { packager, request } = req;
  if (!packager.forms.hls) return notOffered("HLS", packager, req.streamUrl);
  req.counters.playlist++;
  const query = new URL(request.url).searchParams;
  let blocking: BlockingRequest | undefined;
  if (id !== undefined) {
    const parsed = parseBlockingRequest(query);
    if (parsed && "status" in parsed) return refuse(parsed.status, parsed.reason);
    blocking = parsed;
    if (blocking) {
      const state = renditionReady(packager, id, blocking);
      if (typeof state === "object") return refuse(state.status, state.reason);
    }
  }
  const render = () => {
    if (id === undefined) return multivariantPlaylist(packager);
    if (blocking && renditionReady(packager, id, blocking) !== "ready") return undefined;
    return mediaPlaylist(packager, id);
  };
  const text = await held(packager, render, request.signal);
  if (text === undefined) {
    return refuse(503, blocking ? "The part asked for did not come in time" : "No segment yet");
  }
  // A blocking answer names a point in time: a cache may keep it for one target duration.
  const cache = blocking ? `public, max-age=0, s-maxage=${packager.targetDuration ?? 2}` : SHORT;
  return new Response(text, { headers: headers(M3U8, cache) });
}

async function manifest(req: SegmentRequest): Promise<Response> {
  const { packager } = req;
  if (!packager.forms.dash) return notOffered("DASH", packager, req.streamUrl);
  req.counters.manifest++;
  const text = await held(packager, () => dashManifest(packager, Date.now()), req.request.signal);
  if (text === undefined) return refuse(503, "No segment yet");
  return new Response(text, { headers: headers("application/dash+xml", SHORT) });
}

async function object(req: SegmentRequest, epoch: string, id: string, file: string) {
  const { packager } = req;
  const kind = file.startsWith("init-") ? "init" : /\.[0-9]+\.m4s$/.test(file) ? "part" : "segment";
  req.counters[kind]++;
  let result = lookupObject(packager, epoch, id, file);
  if ("pending" in result) {
    // The next part or the segment in progress: held until complete (preload hints).
    const found = await held(packager, () => {
      const r = lookupObject(packager, epoch, id, file);
      return "pending" in r ? undefined : r;
    }, req.request.signal);
    result = found ?? { missing: "Not complete in time" };
  }
  if ("missing" in result) return refuse(404, result.missing);
  if (!("found" in result)) return refuse(503, "Not complete in time");
  // The store's views are of plain ArrayBuffers (never shared memory).
  const body = result.found as Uint8Array<ArrayBuffer>;
  return new Response(body, { headers: headers(result.type, IMMUTABLE) });
}

const OBJECT_PATH = /^e\/([0-9a-z]{1,16})\/([va][0-9]{1,5})\/([0-9a-z.-]{1,40})$/;
const PLAYLIST_PATH = /^hls\/([va][0-9]{1,5})\.m3u8$/;

/** Answers a segmented request below a mount, or `undefined` for a path that is not one. */
export function serveSegments(req: SegmentRequest): Promise<Response> | undefined {
  const { rest } = req;
  if (rest === "index.m3u8") return playlist(req, undefined);
  if (rest === "manifest.mpd") return manifest(req);
  const media = PLAYLIST_PATH.exec(rest);
  if (media) return playlist(req, media[1]);
  const obj = OBJECT_PATH.exec(rest);
  if (obj) return object(req, obj[1], obj[2], obj[3]);
  return undefined;
}

/** A mount's sub-path: `/live/NAME/REST`. */
const SEGMENT_PATH = /^\/live\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\/(.+)$/;

/**
 * Answers `/time` and `/live/NAME/…` (playlists, manifests, objects) from the mounts' packagers;
 * `undefined` for any other path.
 */
export async function segmentRoute(
  request: Request,
  pathname: string,
  options: { packagers?: PackagerTable; counters: SegmentCounters },
): Promise<Response | undefined> {
  if (pathname === "/time") return serveTime();
  const match = SEGMENT_PATH.exec(pathname);
  if (!match) return undefined;
  const [, name, rest] = match;
  const method = request.method;
  if (method !== "GET" && method !== "HEAD") {
    return new Response(`${method} is not allowed here\n`, {
      status: 405,
      headers: { allow: "GET, HEAD", "cache-control": "no-store" },
    });
  }
  const packager = options.packagers?.get(name);
  if (!packager || !packager.header) {
    const why = options.packagers
      ? `No segments of mount ${name} (yet)`
      : "Segmented delivery is not enabled on this server";
    return refuse(404, why);
  }
  const response = await serveSegments({
    request,
    packager,
    rest,
    streamUrl: `/live/${name}`,
    counters: options.counters,
  });
  if (!response) return refuse(404, `Not found: ${pathname}`);
  if (method === "HEAD") {
    await response.body?.cancel();
    return new Response(null, { status: response.status, headers: response.headers });
  }
  return response;
}

/** `GET /time`: the server's clock for DASH `UTCTiming` (`urn:mpeg:dash:utc:http-iso:2014`). */
export function serveTime(): Response {
  return new Response(new Date().toISOString(), {
    headers: headers("text/plain; charset=utf-8", "no-store"),
  });
}
