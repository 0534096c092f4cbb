/**
 * Serving a mount over HTTP, tracking stream responses until they are sent.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import type { Mount } from "../stream/mount.ts";
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
  /** Logs a one-line summary (viewers, rates, buffer) this often (ms; 0: never). */
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
 * Serves `mount` on `hostname:port`. Throws what the listener throws when it cannot listen
 * (`Deno.errors.AddrInUse`, `PermissionDenied`, …).
 */
export function serveMount(
  mount: Mount,
  options: ServeMountOptions,
): MountServer {
  const log = options.log ?? SILENT;
  const streams = new WeakSet<Response>();
  let active = 0;
  let waiters: Array<() => void> = [];
  const handler = createHandler(mount, {
    log,
    readyTimeout: options.readyTimeout,
    maxClients: options.maxClients,
    adminToken: options.adminToken,
    onStream: (response) => streams.add(response),
  });
  const track = async (
    request: Request,
    info: Deno.ServeHandlerInfo | {
      completed: Promise<void>;
      remoteAddr: Deno.NetAddr;
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
  let shutdown: () => Promise<void>;
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
    shutdown = () => server.shutdown();
  } else {
    const server = serveHttp(track, {
      hostname: options.hostname,
      port: options.port,
      log,
      stallTimeout: options.stallTimeout,
      isStream: (response) => streams.has(response),
      onEvict: () => mount.countEviction(),
      tls: options.tls,
    });
    addr = server.addr;
    evictions = () => server.evictions;
    shutdown = () => server.shutdown();
  }
  // Rates for /status, and a periodic one-line summary in the log.
  const every = options.summaryInterval ?? 0;
  let ticks = 0;
  const sampler = setInterval(() => {
    mount.sampleRates();
    ticks++;
    if (every > 0 && (ticks * 5000) % every < 5000 && mount.header !== undefined) {
      const s = mount.status(0);
      const mbit = (bits: number) => (bits / 1e6).toFixed(2);
      log.info(
        `Summary: ${s.viewers} watching, in ${mbit(s.bitrateIn)} Mbit/s, out ${
          mbit(s.bitrateOut)
        } Mbit/s, buffer ${s.ring.gops} GOPs ${s.ring.seconds} s, ${s.skips} skips, ${s.evictions} stalled viewers dropped`,
      );
    }
  }, 5000);
  Deno.unrefTimer(sampler);
  const stop = shutdown;
  shutdown = async () => {
    clearInterval(sampler);
    await stop();
  };
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
    shutdown,
  };
}
