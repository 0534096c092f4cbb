/**
 * Serving mounts over HTTP, tracking stream responses until they are sent.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import type { AccessPolicy } from "./access/access_policy.ts";
import type { Mount } from "../stream/mount.ts";
import { MountRegistry } from "../stream/mount_registry.ts";
import type { ConnInfo } from "./conn_info.ts";
import { EvictionCounts } from "./eviction_counts.ts";
import { createHandler } from "./handler.ts";
import type { PackagerTable } from "./packagers.ts";
import type { RecorderTable } from "../record/recorder_table.ts";
import { serveHttp } from "./http/http_server.ts";
import { mountOf, streamOf } from "./stream_response.ts";
import type { Webhooks } from "./webhooks/webhooks.ts";

/** Options of `serveMount`. */
export interface ServeMountOptions {
  /** TCP port (0 picks a free one). */
  port: number;
  /** Address to listen on. */
  hostname: string;
  log?: Logger;
  /** How long a viewer waits for the source's header before a 503 (ms). */
  readyTimeout?: number;
  /** Most viewers at once (0: no limit). */
  maxClients?: number;
  /**
   * Milliseconds a viewer may go without accepting a byte while bytes wait for it, before its
   * connection is closed (0: never). Needs the `"listen"` engine.
   */
  stallTimeout?: number;
  /**
   * `"listen"` (default): mkserver's HTTP/1.1 server on `Deno.listen`, which can close a stalled
   * viewer's socket. `"deno"`: `Deno.serve`, which cannot (kept for comparison benchmarks).
   */
  engine?: "listen" | "deno";
  /** Certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Milliseconds a request head may take (see `HttpServerOptions`). Needs the `"listen"` engine. */
  headerTimeout?: number;
  /** Milliseconds a kept-alive connection may wait for a request. Needs the `"listen"` engine. */
  keepAliveTimeout?: number;
  /** Most open connections from one address (0: none). Needs the `"listen"` engine. */
  maxConnectionsPerIp?: number;
  /** Enables the admin API under `/admin/`, guarded by this bearer token. */
  adminToken?: string;
  /** Enables pushing sources to `/live/NAME`, guarded by this token. */
  sourceToken?: string;
  /** Logs a one-line summary per mount (viewers, rates, buffer) this often (ms; 0: never). */
  summaryInterval?: number;
  /** The mounts' packagers: HLS and DASH under `/live/NAME/` (none without it). */
  packagers?: PackagerTable;
  /** The mounts' recorders (`--record`): their state in `/status` and `/metrics`. */
  recorders?: RecorderTable;
  /** Who may watch and publish (absent: viewers are not guarded; pushing needs the token). */
  access?: AccessPolicy;
  /** Told of viewers' events (see `HandlerOptions.webhooks`); shown in `/status`, `/metrics`. */
  webhooks?: Webhooks;
  /** The recorder's directory: `/live/NAME/recordings` and `?from=` joins in it (none without it). */
  recordDir?: string;
}

/** A running server. */
export interface MountServer {
  /** The address it listens on (with the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Stream responses still being sent. */
  readonly activeStreams: number;
  /** Viewers disconnected because they stopped reading. */
  readonly evictions: number;
  /** Resolves when no stream response is being sent (at once if none is). */
  idle(): Promise<void>;
  /** Stops listening and closes open connections. */
  shutdown(): Promise<void>;
}

/** Counts the stream responses being sent, and wakes `idle()` waiters when none is left. */
class ActiveStreams {
  #active = 0;
  #waiters: Array<() => void> = [];

  get size(): number {
    return this.#active;
  }

  /** Counts `response` while it is sent, when it is a stream response. */
  track(response: Response, info: ConnInfo): void {
    if (streamOf(response) === undefined) return;
    this.#active++;
    // `completed` settles once the body has been sent (or the connection is gone).
    info.completed.catch(() => {}).finally(() => {
      if (--this.#active > 0) return;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    });
  }

  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/** The server under a `MountServer`, whichever the engine. */
interface Engine {
  addr: Deno.NetAddr;
  evictions(): number;
  shutdown(): Promise<void>;
}

/** `Deno.serve`, which cannot close a stalled viewer's socket, so never evicts. */
function denoEngine(
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: ServeMountOptions,
  log: Logger,
): Engine {
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    ...options.tls,
    onListen: () => {},
    onError: (error) => {
      log.error(`HTTP handler failed: ${(error as Error)?.message ?? error}`);
      return new Response("Internal server error\n", { status: 500 });
    },
  }, handler);
  return { addr: server.addr, evictions: () => 0, shutdown: () => server.shutdown() };
}

/**
 * mkserver's own server, writing stream bodies straight from each viewer (`streamOf`) and
 * counting the evictions of stalled ones by mount.
 */
function listenEngine(
  handler: (request: Request, info: ConnInfo) => Promise<Response>,
  options: ServeMountOptions,
  log: Logger,
  evictions: EvictionCounts,
): Engine {
  const server = serveHttp((request, info) => handler(request, { ...info, direct: true }), {
    hostname: options.hostname,
    port: options.port,
    log,
    stallTimeout: options.stallTimeout,
    headerTimeout: options.headerTimeout,
    keepAliveTimeout: options.keepAliveTimeout,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    streamBody: (response) => streamOf(response) ?? false,
    onEvict: (response) => {
      const name = mountOf(response);
      if (name !== undefined) evictions.count(name, streamOf(response));
    },
    tls: options.tls,
  });
  return {
    addr: server.addr,
    evictions: () => server.evictions,
    shutdown: () => server.shutdown(),
  };
}

/** Logs one line per mount: viewers, rates, buffer, skips and evictions. */
function logSummary(mounts: Mount[], evictions: EvictionCounts, log: Logger): void {
  const mbit = (bits: number) => (bits / 1e6).toFixed(2);
  for (const mount of mounts) {
    if (mount.header === undefined) continue;
    const s = evictions.statusOf(mount, 0);
    log.info(
      `Summary of ${s.name}: ${s.viewers} watching, in ${mbit(s.bitrateIn)} Mbit/s, out ${
        mbit(s.bitrateOut)
      } Mbit/s, buffer ${s.ring.gops} GOPs ${s.ring.seconds} s, ${s.skips} skips, ${s.evictions} stalled viewers dropped`,
    );
  }
}

/**
 * Serves a mount, or every mount of a registry, on `hostname:port`. Throws what the listener
 * throws when it cannot listen (`Deno.errors.AddrInUse`, `PermissionDenied`, …).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { serveMount } from "./serve.ts";
 * const server = serveMount(new Mount("stream"), { hostname: "127.0.0.1", port: 0 });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/status`);
 * const status = await response.json();
 * assertEquals(status.mounts[0].name, "stream");
 * await server.shutdown();
 * ```
 */
export function serveMount(target: Mount | MountRegistry, options: ServeMountOptions): MountServer {
  const log = options.log ?? SILENT;
  const mounts = (): Mount[] => target instanceof MountRegistry ? target.list() : [target];
  const evictions = new EvictionCounts();
  const active = new ActiveStreams();
  const handler = createHandler(target, {
    log,
    readyTimeout: options.readyTimeout,
    maxClients: options.maxClients,
    adminToken: options.adminToken,
    sourceToken: options.sourceToken,
    evictions,
    packagers: options.packagers,
    recorders: options.recorders,
    access: options.access,
    webhooks: options.webhooks,
    recordDir: options.recordDir,
  });
  const track = async (request: Request, info: ConnInfo) => {
    const response = await handler(request, info);
    active.track(response, info);
    return response;
  };
  const engine = options.engine === "deno"
    ? denoEngine(track, options, log)
    : listenEngine(track, options, log, evictions);

  // Rates for /status, and a periodic one-line summary per mount in the log.
  const every = options.summaryInterval ?? 0;
  let ticks = 0;
  const sampler = setInterval(() => {
    ticks++;
    for (const mount of mounts()) mount.sampleRates();
    if (every > 0 && (ticks * 5000) % every < 5000) logSummary(mounts(), evictions, log);
  }, 5000);
  Deno.unrefTimer(sampler);

  return {
    addr: engine.addr,
    get activeStreams() {
      return active.size;
    },
    get evictions() {
      return engine.evictions();
    },
    idle: () => active.idle(),
    async shutdown() {
      clearInterval(sampler);
      await engine.shutdown();
    },
  };
}
