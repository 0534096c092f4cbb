/**
 * The HTTP handler: live stream, player page and status, as a pure `Request` → `Response`
 * function.
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import type { Handler, HandlerInfo, HandlerOptions } from "./handler_options.ts";
import { describePeer, peerAddress, peerHost } from "./peer.ts";
import { waitForHeader } from "./wait_for_header.ts";
import { assert } from "../_assert.ts";
import { guardRequest, keepPrivate, pageStreamUrl, wantsPage } from "./access/access_guard.ts";
import { type Logger, SILENT } from "../log.ts";
import { contentTypeOf } from "../matroska/live_header.ts";
import type { ClientStream } from "../stream/client_stream.ts";
import { Mount } from "../stream/mount.ts";
import { MountRegistry } from "../stream/mount_registry.ts";
import { viewerEndEvent } from "../stream/stream_events.ts";
import { handleAdmin } from "./admin.ts";
import { CHUNKED } from "./chunked.ts";
import { EvictionCounts } from "./eviction_counts.ts";
import { LATENCY_PATH, latencyRoute } from "./latency_route.ts";
import { handlePush } from "./push.ts";
import { badMountName, decodeMountName } from "./mount_name.ts";
import { HLS_SCRIPT_PATH, hlsScriptResponse } from "./player_assets.ts";
import { playerPage } from "./player_page.ts";
import { RecordingStore } from "../record/recordings.ts";
import { RECORDINGS_PATH, recordingsRoute } from "./recordings_route.ts";
import { type ShiftedStart, shiftedStart, shiftPointOf } from "./shifted_join.ts";
import { type SegmentCounters, segmentCounters, segmentRoute } from "./segments.ts";
import { metricsResponse, statusResponse } from "./status_response.ts";
import { streamResponse } from "./stream_response.ts";
import { emptyBody, methodNotAllowed, textResponse as text } from "./text_response.ts";
import { ViewerLatency } from "./viewer_latency.ts";

export type { Handler, HandlerInfo, HandlerOptions } from "./handler_options.ts";

/** Other paths the handler answers. */
const PAGE_PATHS = new Set(["/", "/player", "/status", "/metrics"]);

/** A mount's own path: `/live/NAME`. */
const LIVE_PATH = /^\/live\/([^/]+)$/;

/** Paths that serve the live stream to any client. */
const STREAM_PATHS = new Set(["/stream", "/stream.mkv", "/stream.webm"]);

/** What the handler answers for a mount, with the peer's address for logging. */

/** The routes of `createHandler`, over one registry. */
class MountHandler {
  #registry: MountRegistry;
  #defaultName: string;
  #options: HandlerOptions;
  #log: Logger;
  #readyTimeout: number;
  #evictions: EvictionCounts;
  #counters: SegmentCounters;
  #latency: ViewerLatency;
  #recordings: RecordingStore | undefined;

  constructor(target: Mount | MountRegistry, options: HandlerOptions) {
    this.#options = options;
    if (options.recordDir !== undefined) this.#recordings = new RecordingStore(options.recordDir);
    this.#log = options.log ?? SILENT;
    this.#readyTimeout = options.readyTimeout ?? 10_000;
    this.#evictions = options.evictions ?? new EvictionCounts();
    this.#counters = options.segmentCounters ?? segmentCounters();
    this.#latency = options.viewerLatency ?? new ViewerLatency();
    if (target instanceof Mount) {
      this.#registry = new MountRegistry({ log: this.#log });
      this.#registry.add(target);
      this.#defaultName = target.name;
    } else {
      this.#registry = target;
      this.#defaultName = options.defaultMount ?? "stream";
    }
  }

  async handle(request: Request, info?: HandlerInfo): Promise<Response> {
    const { pathname } = new URL(request.url);
    const adminToken = this.#options.adminToken;
    // The admin API exists only when a token is set; otherwise /admin is an unknown path.
    if (adminToken !== undefined && (pathname === "/admin" || pathname.startsWith("/admin/"))) {
      return handleAdmin(request, { registry: this.#registry, token: adminToken, log: this.#log });
    }
    const access = this.#options.access;
    if (access === undefined) return await this.#route(request, pathname, "", info);
    const guarded = await guardRequest(access, request, {
      pathname,
      ip: peerAddress(info),
      defaultMount: this.#defaultName,
    });
    if (!guarded.pass) {
      await request.body?.cancel().catch(() => {});
      return guarded.response;
    }
    const response = await this.#route(request, guarded.pathname, guarded.prefix, info);
    return guarded.shared ? response : keepPrivate(response);
  }

  /** Answers `pathname` (below the signed `prefix`, when there is one). */
  async #route(
    request: Request,
    pathname: string,
    prefix: string,
    info?: HandlerInfo,
  ): Promise<Response> {
    if (pathname === HLS_SCRIPT_PATH) return hlsScriptResponse();
    const recordings = RECORDINGS_PATH.exec(pathname);
    if (recordings) {
      return await recordingsRoute(request, recordings[1], recordings[2], {
        store: this.#recordings,
        log: this.#log,
      });
    }
    const live = LIVE_PATH.exec(pathname);
    if (live) {
      const name = decodeMountName(live[1]);
      if (name === undefined) return text(STATUS_CODE.BadRequest, badMountName(pathname));
      return await this.#live(request, name, info);
    }
    const latency = LATENCY_PATH.exec(pathname);
    if (latency) {
      // A valid mount name has nothing to decode (and a stray `%` must not throw).
      const mount = this.#registry.get(latency[1]);
      const kind = latency[2] as "edge" | "latency";
      return await latencyRoute(request, kind, {
        mount,
        reports: this.#latency,
        host: peerHost(info),
      });
    }
    const segmented = await segmentRoute(request, pathname, {
      packagers: this.#options.packagers,
      counters: this.#counters,
    });
    if (segmented) return segmented;
    const known = STREAM_PATHS.has(pathname) || PAGE_PATHS.has(pathname);
    if (!known) return text(STATUS_CODE.NotFound, `Not found: ${pathname}`);
    const method = request.method;
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed(method, "GET, HEAD");
    try {
      return await this.#page(request, pathname, { prefix, info });
    } catch (error) {
      this.#log.error(
        `Request ${method} ${pathname} failed: ${(error as Error)?.message ?? error}`,
      );
      return text(STATUS_CODE.InternalServerError, "Internal server error");
    }
  }

  /** `/live/NAME`: a viewer of mount NAME, or a source pushed to it. */
  async #live(request: Request, name: string, info?: HandlerInfo): Promise<Response> {
    const method = request.method;
    if (!MountRegistry.isValidName(name)) {
      return text(STATUS_CODE.BadRequest, `Invalid mount name: ${name}`);
    }
    if (method === "PUT" || method === "POST") {
      // An access policy has allowed this source already; otherwise the source token decides.
      const token = this.#options.access ? undefined : this.#options.sourceToken;
      if (token === undefined && !this.#options.access) {
        await request.body?.cancel();
        return text(
          STATUS_CODE.Forbidden,
          "Pushing sources is disabled: start mkserver with --source-token",
        );
      }
      return await handlePush(request, name, {
        registry: this.#registry,
        token,
        log: this.#log,
        address: describePeer(info),
      });
    }
    if (method !== "GET" && method !== "HEAD") {
      return methodNotAllowed(method, "GET, HEAD, PUT, POST");
    }
    // A viewer may come before the source: wait for it like for a header.
    const mount = await this.#registry.waitFor(name, this.#readyTimeout);
    if (mount === undefined) return text(STATUS_CODE.NotFound, `No mount named ${name}`);
    return await this.#stream(mount, request, info);
  }

  /** `/status`, `/metrics`, the player page, and the default mount's stream. */
  async #page(
    request: Request,
    pathname: string,
    at: { prefix: string; info?: HandlerInfo },
  ): Promise<Response> {
    const head = request.method === "HEAD";
    const mounts = this.#registry.list();
    const extra = {
      head,
      packagers: this.#options.packagers,
      recorders: this.#options.recorders,
      counters: this.#counters,
      webhooks: this.#options.webhooks,
      viewerLatency: this.#latency,
    };
    if (pathname === "/status") return statusResponse(mounts, this.#evictions, extra);
    if (pathname === "/metrics") return metricsResponse(mounts, this.#evictions, extra);
    const mount = this.#registry.get(this.#defaultName) ?? mounts[0];
    if (mount === undefined) {
      return text(STATUS_CODE.NotFound, "No stream yet: sources push to /live/NAME; see /status");
    }
    // Browsers ask for text/html first; players (and <video>) send */* or nothing.
    if (pathname === "/player" || (pathname === "/" && wantsPage(request))) {
      const streamUrl = this.#options.access ? pageStreamUrl(request, at.prefix) : "/stream";
      const page = playerPage(mount, { streamUrl });
      return new Response(head ? null : page, {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      });
    }
    return await this.#stream(mount, request, at.info);
  }

  /** A mount's live stream: its headers for HEAD, else a new viewer's stream response. */
  async #stream(mount: Mount, request: Request, info?: HandlerInfo): Promise<Response> {
    const header = await waitForHeader(mount, this.#readyTimeout);
    if (header === undefined) {
      return mount.ended
        ? text(STATUS_CODE.ServiceUnavailable, "The stream has ended")
        : text(STATUS_CODE.ServiceUnavailable, "The stream has not started yet", {
          "retry-after": "5",
        });
    }
    // A live stream has no length and no ranges; players must not cache it.
    const headers = {
      "content-type": contentTypeOf(header),
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
      "x-content-type-options": "nosniff",
    };
    const point = shiftPointOf(request);
    if (point instanceof Response) return point;
    // A shifted HEAD is planned too: it says 416 as its GET would (the player page asks first).
    const shifted = point === undefined ? undefined : await shiftedStart(mount, header, point, {
      store: this.#recordings,
      log: this.#log,
    });
    if (shifted instanceof Response) return shifted;
    // HEAD answers GET's headers. A null body would make Deno add `content-length: 0`; an
    // empty stream body does not, and a live stream has no length.
    if (request.method === "HEAD") {
      if (shifted?.options.leadIn) shifted.options.leadIn.cancel();
      return new Response(emptyBody(), { headers });
    }
    const maxClients = this.#options.maxClients ?? 0;
    if (maxClients > 0 && this.#viewerCount() >= maxClients) {
      this.#log.warn(
        `Refused a viewer from ${
          describePeer(info)
        }: ${maxClients} watching already (--max-clients)`,
      );
      return text(STATUS_CODE.ServiceUnavailable, "Too many viewers, try again later", {
        "retry-after": "10",
      });
    }
    const client = this.#attach(mount, info, shifted);
    // The player page reports its latency as this viewer (`/live/NAME/latency`).
    const viewer = { "x-viewer-id": String(mount.viewerId(client) ?? 0) };
    return streamResponse(client, { ...headers, ...viewer }, {
      direct: info?.direct,
      mount: mount.name,
    });
  }

  /** A new viewer of `mount`, logged (and told to `events`) as it joins, falls behind and leaves. */
  #attach(mount: Mount, info?: HandlerInfo, shifted?: ShiftedStart): ClientStream {
    const log = this.#log;
    const events = this.#options.webhooks;
    const peer = describePeer(info);
    const label = mount.name === this.#defaultName ? "" : ` of ${mount.name}`;
    const joined = performance.now();
    let id = 0;
    const client = mount.attach({
      ...shifted?.options,
      address: peer,
      wire: info?.wire ? CHUNKED : undefined,
      onSkip: () =>
        log.warn(`Viewer #${id}${label} fell behind the buffer and skipped to the newest keyframe`),
      onClose: (c, reason) => {
        this.#latency.forget(mount.name, id);
        const how = reason === "cancel"
          ? "disconnected"
          : reason === "drop"
          ? "was dropped (fell behind the buffer, --slow-policy drop)"
          : "finished";
        log.info(
          `Viewer #${id}${label} ${how} after ${c.bytesSent} bytes (${mount.clients.size} watching)`,
        );
        // The server evicts a stalled viewer before its stream ends (see `EvictionCounts`).
        const evicted = this.#evictions.wasEvicted(c);
        const who = { mount: mount.name, viewer: id, address: peer, since: joined };
        events?.emit(viewerEndEvent(who, { bytes: c.bytesSent, reason, evicted }));
      },
    });
    assert(client !== undefined, "a mount with a header attaches viewers");
    id = mount.viewerId(client) ?? 0;
    this.#latency.register(mount.name, id, peerHost(info));
    if (shifted?.recordings) {
      shifted.recordings.onHandover = (seconds) =>
        log.info(`Viewer #${id}${label} went on live after ${seconds} s of recordings`);
    }
    const when = shifted ? ` ${shifted.where}` : "";
    log.info(`Viewer #${id}${label} joined from ${peer}${when} (${mount.clients.size} watching)`);
    events?.emit({ type: "play", mount: mount.name, viewer: id, address: peer });
    return client;
  }

  #viewerCount(): number {
    let n = 0;
    for (const m of this.#registry.list()) n += m.clients.size;
    return n;
  }
}

/**
 * Creates the handler for a mount, or for every mount of a registry:
 * - `GET`/`HEAD /stream` (also `/stream.mkv`, `/stream.webm`): the default mount's live stream;
 * - `GET /`: that stream, or a player page when the client asks for `text/html` (a browser);
 * - `GET /live/NAME`: mount NAME's stream; `PUT`/`POST /live/NAME`: push a source to it (with
 *   `sourceToken`);
 * - `GET /player`, `/status` (JSON about every mount), `/metrics` (Prometheus text);
 * - `/admin/…` with `adminToken`;
 * - anything else: 404, or 405 for a method the path does not take.
 *
 * A stream response is made with `streamResponse`: a server finds its viewer with `streamOf`
 * (and with `info.direct`, the response has no body of its own).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { createHandler } from "./handler.ts";
 * const handler = createHandler(new Mount("stream"));
 * const response = await handler(new Request("http://localhost/nope"));
 * assertEquals(response.status, 404);
 * await response.body?.cancel();
 * ```
 */
export function createHandler(
  target: Mount | MountRegistry,
  options: HandlerOptions = {},
): Handler {
  const handler = new MountHandler(target, options);
  return (request, info) => handler.handle(request, info);
}
