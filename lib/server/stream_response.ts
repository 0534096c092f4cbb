/**
 * The stream-response contract: how a handler's live-stream response reaches the server that
 * writes it. The handler makes the response with `streamResponse`; the server finds the viewer
 * behind it with `streamOf` and writes from it chunk by chunk, with no `ReadableStream` in
 * between (one write per Cluster per viewer, and no stream object per viewer).
 *
 * @module
 */

import type { ClientStream } from "../stream/client_stream.ts";

/** What a stream response carries beside its headers. */
interface StreamRecord {
  client: ClientStream;
  mount: string | undefined;
}

/** Stream responses, found by identity; a response that is gone takes its record with it. */
const streams = new WeakMap<Response, StreamRecord>();

/** Options of `streamResponse`. */
export interface StreamResponseOptions {
  /**
   * The server writes the body straight from the viewer (`streamOf`): the response gets no
   * body, and the viewer's `ReadableStream` is never made.
   */
  direct?: boolean;
  /** The mount the viewer watches (`mountOf`): where the server counts its evictions. */
  mount?: string;
}

/**
 * A `200` live-stream response for `client`, recorded so that `streamOf` finds it. Without
 * `direct`, its body is the viewer's `ReadableStream` (for a server like `Deno.serve`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ClientStream } from "../stream/client_stream.ts";
 * import { GopRing } from "../stream/gop_ring.ts";
 * import { streamOf, streamResponse } from "./stream_response.ts";
 * const client = new ClientStream(new GopRing(), new Uint8Array([0x1a, 0x45, 0xdf, 0xa3]));
 * const response = streamResponse(client, { "content-type": "video/webm" }, { direct: true });
 * assertEquals([response.body, streamOf(response)], [null, client]);
 * assertEquals(streamOf(new Response("not a stream")), undefined);
 * client.cancel();
 * ```
 */
export function streamResponse(
  client: ClientStream,
  headers: HeadersInit,
  options: StreamResponseOptions = {},
): Response {
  const response = new Response(options.direct ? null : client.readable, { headers });
  streams.set(response, { client, mount: options.mount });
  return response;
}

/** The viewer behind a stream response, or undefined for any other response. */
export function streamOf(response: Response): ClientStream | undefined {
  return streams.get(response)?.client;
}

/** The mount a stream response's viewer watches, or undefined. */
export function mountOf(response: Response): string | undefined {
  return streams.get(response)?.mount;
}
