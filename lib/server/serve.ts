/**
 * Serving mounts over HTTP, tracking stream responses until they are sent.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import type { ClientStream } from "../stream/client_stream.ts";
import type { Mount } from "../stream/mount.ts";
import { MountRegistry } from "../stream/mount_registry.ts";
import { createHandler } from "./handler.ts";
import { serveHttp } from "./http_server.ts";

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
  /** Enables the admin API under `/admin/`, guarded by this bearer token. */
  adminToken?: string;
  /** Enables pushing sources to `/live/NAME`, guarded by this token. */
  sourceToken?: string;
  /** Logs a one-line summary per mount (viewers, rates, buffer) this often (ms; 0: never). */
  summaryInterval?: number;
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

/**
 * Serves a mount, or every mount of a registry, on `hostname:port`. Throws what the listener
 * throws when it cannot listen (`Deno.errors.AddrInUse`, `PermissionDenied`, …).
 */
export function serveMount(target: Mount | MountRegistry, options: ServeMountOptions): MountServer {
  const log = options.log ?? SILENT;
  const streams = new WeakMap<Response, { mount: Mount; client: ClientStream }>();
  const mounts = (): Mount[] => target instanceof MountRegistry ? target.list() : [target];
  let active = 0;
  let waiters: Array<() => void> = [];
  const handler = createHandler(target, {
    log,
    readyTimeout: options.readyTimeout,
    maxClients: options.maxClients,
    adminToken: options.adminToken,
    sourceToken: options.sourceToken,
    onStream: (response, mount, client) => streams.set(response, { mount, client }),
  });
  const track = async (
    request: Request,
    info: Deno.ServeHandlerInfo | {
      completed: Promise<void>;
      remoteAddr: Deno.NetAddr;
      wire?: boolean;
      direct?: boolean;
    },
  ) => {
    const response = await handler(request, info);
    if (streams.has(response)) {
      active++;
      // `completed` settles once the body has been sent (or the connection is gone).
      info.completed.catch(() => {}).finally(() => {
        active--;
        if (active === 0) {
          const ws = waiters;
          waiters = [];
          for (const w of ws) w();
        }
      });
    }
    return response;
  };

  let addr: Deno.NetAddr;
  let evictions: () => number;
  let close: () => Promise<void>;
  if (options.engine === "deno") {
    const server = Deno.serve({
      port: options.port,
      hostname: options.hostname,
      ...options.tls,
      onListen: () => {},
      onError: (error) => {
        log.error(`HTTP handler failed: ${(error as Error)?.message ?? error}`);
        return new Response("Internal server error\n", { status: 500 });
      },
    }, track);
    addr = server.addr;
    evictions = () => 0;
    close = () => server.shutdown();
  } else {
    const server = serveHttp((request, info) => track(request, { ...info, direct: true }), {
      hostname: options.hostname,
      port: options.port,
      log,
      stallTimeout: options.stallTimeout,
      streamBody: (response) => streams.get(response)?.client ?? false,
      onEvict: (response) => streams.get(response)?.mount.countEviction(),
      tls: options.tls,
    });
    addr = server.addr;
    evictions = () => server.evictions;
    close = () => server.shutdown();
  }

  // Rates for /status, and a periodic one-line summary per mount in the log.
  const every = options.summaryInterval ?? 0;
  let ticks = 0;
  const sampler = setInterval(() => {
    ticks++;
    const due = every > 0 && (ticks * 5000) % every < 5000;
    for (const mount of mounts()) {
      mount.sampleRates();
      if (!due || mount.header === undefined) continue;
      const s = mount.status(0);
      const mbit = (bits: number) => (bits / 1e6).toFixed(2);
      log.info(
        `Summary of ${s.name}: ${s.viewers} watching, in ${mbit(s.bitrateIn)} Mbit/s, out ${
          mbit(s.bitrateOut)
        } Mbit/s, buffer ${s.ring.gops} GOPs ${s.ring.seconds} s, ${s.skips} skips, ${s.evictions} stalled viewers dropped`,
      );
    }
  }, 5000);
  Deno.unrefTimer(sampler);

  return {
    addr,
    get activeStreams() {
      return active;
    },
    get evictions() {
      return evictions();
    },
    idle() {
      if (active === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    async shutdown() {
      clearInterval(sampler);
      await close();
    },
  };
}
