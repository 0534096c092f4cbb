/**
 * Serving a mount over HTTP with `Deno.serve`, tracking stream responses until they are sent.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import type { Mount } from "../stream/mount.ts";
import { createHandler } from "./handler.ts";

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
}

/** A running server. */
export interface MountServer {
  /** The address it listens on (with the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Stream responses still being sent. */
  readonly activeStreams: number;
  /** Resolves when no stream response is being sent (at once if none is). */
  idle(): Promise<void>;
  /** Stops listening and closes open connections. */
  shutdown(): Promise<void>;
}

/**
 * Serves `mount` on `hostname:port`. Throws what `Deno.serve` throws when it cannot listen
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
    onStream: (response) => streams.add(response),
  });
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: () => {},
    onError: (error) => {
      log.error(`HTTP handler failed: ${(error as Error)?.message ?? error}`);
      return new Response("Internal server error\n", { status: 500 });
    },
  }, async (request, info) => {
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
  });
  return {
    addr: server.addr,
    get activeStreams() {
      return active;
    },
    idle() {
      if (active === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    shutdown: () => server.shutdown(),
  };
}
