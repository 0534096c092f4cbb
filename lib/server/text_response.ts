/**
 * The plain-text answers of the handler and the push endpoint.
 *
 * @module
 */

/**
 * A `text/plain` response of one line: `body` and a newline (what curl users read).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { textResponse } from "./text_response.ts";
 * const response = textResponse(503, "Busy", { "retry-after": "5" });
 * assertEquals([response.status, await response.text()], [503, "Busy\n"]);
 * ```
 */
export function textResponse(status: number, body: string, headers: HeadersInit = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** `405` for `method`, with the `Allow` header listing what the path takes. */
export function methodNotAllowed(method: string, allow: string): Response {
  return textResponse(405, `Method not allowed: ${method}`, { allow });
}

/** A body that ends at once (a `HEAD` answer that still looks like a stream). */
export function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
