/**
 * What a handler learns of a request's connection: the one shape both engines give it.
 *
 * @module
 */

/**
 * A request's connection, as `Deno.serve` describes it (`Deno.ServeHandlerInfo` fits), plus
 * what mkserver's own server adds. The handler takes it whole or in part (`Partial<ConnInfo>`):
 * a test may call it with no connection at all.
 */
export interface ConnInfo {
  /** The peer (a `Deno.NetAddr` from both engines; tests may pass `{ hostname, port }`). */
  remoteAddr: Deno.Addr | { hostname: string; port: number };
  /** Settles when the response has been written, or the connection is gone. */
  completed: Promise<void>;
  /**
   * `true` (HTTP/1.1 on mkserver's server): stream bodies must come in the chunked wire form
   * (`CHUNKED`), and are written as they are; `false` or absent: plain bytes (HTTP/1.0, or
   * `Deno.serve`).
   */
  wire?: boolean;
  /**
   * The server writes stream bodies straight from the viewer's `ClientStream` (found with
   * `streamOf`), so the stream response is made without a body.
   */
  direct?: boolean;
}
