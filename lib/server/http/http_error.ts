/**
 * The error a malformed request turns into: the server answers it with `status` and closes the
 * connection.
 *
 * @module
 */

/**
 * A request the server refuses before any handler sees it (400 for bad framing, 408 for a head
 * that took too long, 429 over a connection limit, 431 for a head too large, 501 for a transfer
 * coding it does not decode). The message is sent to the peer as the response body, so it says
 * what was wrong without echoing much of the request; `headers` go with it (`retry-after`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { HttpError } from "./http_error.ts";
 * const error = new HttpError(400, "Invalid Content-Length");
 * assertEquals([error.name, error.status], ["HttpError", 400]);
 * ```
 */
export class HttpError extends Error {
  /** The response status: a 4xx or 5xx code. */
  readonly status: number;
  /** Fields the refusal carries besides its framing, e.g. `{ "retry-after": "1" }`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}
