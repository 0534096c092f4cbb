/**
 * The options of `serveHttp`, and the defaults of its connection limits.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { ConnInfo } from "../conn_info.ts";
import type { SendQueues } from "../tcp_queues.ts";
import type { StreamBody } from "./response_writer.ts";

/** Default `headerTimeout`: milliseconds a request head may take to arrive whole. */
export const DEFAULT_HEADER_TIMEOUT = 10_000;
/** Default `keepAliveTimeout`: milliseconds a kept-alive connection may wait for a request. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT = 30_000;

/** A request handler. */
export type HttpHandler = (request: Request, info: ConnInfo) => Response | Promise<Response>;

/** Options of `serveHttp`. */
export interface HttpServerOptions {
  hostname: string;
  port: number;
  log?: Logger;
  /**
   * Milliseconds a streaming response, or a body over 64 KiB, may go without the peer
   * acknowledging any byte while bytes wait for it; then its connection is closed. 0 disables.
   * Default 0.
   */
  stallTimeout?: number;
  /** Called with the response of a stalled viewer it disconnects. */
  onEvict?: (response: Response) => void;
  /**
   * Tells which responses are endless streams (the connection ends with them; watched for
   * stalls): returns `true` to write the response's body, or a `StreamBody` to write from
   * directly (the response then needs no body). Default: none is.
   */
  streamBody?: (response: Response) => StreamBody | boolean;
  /** Largest request head in bytes (default 16 KiB): larger gets 431. */
  maxHeadSize?: number;
  /**
   * Milliseconds a request head may take, from the connection's start or (kept alive) its first
   * byte: then `408` and a close (a close alone when no byte came). 0 disables. Default 10 s.
   */
  headerTimeout?: number;
  /** Milliseconds a kept-alive connection may wait for its next request. 0 disables. Default 30 s. */
  keepAliveTimeout?: number;
  /** Most open connections from one address; a request on one more gets `429`. 0 (default): none. */
  maxConnectionsPerIp?: number;
  /** Certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Reads the kernel's unacknowledged send queues (tests inject one). Default: /proc/net/tcp*. */
  readSendQueues?: (localPort: number) => SendQueues | undefined;
}
