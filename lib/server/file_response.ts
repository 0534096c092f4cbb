/**
 * A file as an HTTP response with byte ranges: `206` with `Content-Range`, `416`, `304` for a
 * matching `If-None-Match`, and `If-Range` that falls back to the whole file.
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import { type ByteRange, etagMatches, parseByteRange } from "./byte_range.ts";

/** Options of `fileResponse`. */
export interface FileResponseOptions {
  contentType: string;
  /** `Cache-Control` (default `no-cache`: use it, but revalidate with the ETag). */
  cacheControl?: string;
}

/** Bytes read from the file per chunk of the body. */
const CHUNK = 256 * 1024;

/** A body of bytes `start` to `end` of `file`, which it closes at the end or when cancelled. */
function rangeBody(file: Deno.FsFile, range: ByteRange): ReadableStream<Uint8Array> {
  let at = range.start;
  let sought = false;
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        if (!sought) {
          await file.seek(range.start, Deno.SeekMode.Start);
          sought = true;
        }
        const left = range.end + 1 - at;
        if (left <= 0) {
          file.close();
          controller.close();
          return;
        }
        const buffer = new Uint8Array(Math.min(CHUNK, left));
        const n = await file.read(buffer);
        // The file shrank under us: the response must not end short of its Content-Length.
        if (n === null) throw new RangeError(`The file ended at byte ${at} of ${range.end + 1}`);
        at += n;
        controller.enqueue(buffer.subarray(0, n));
      } catch (error) {
        try {
          file.close();
        } catch { /* closed already */ }
        controller.error(error);
      }
    },
    cancel: () => {
      try {
        file.close();
      } catch { /* closed already */ }
    },
  }, { highWaterMark: 0 });
}

/**
 * Answers a `GET` or `HEAD` of the file at `path` (which the caller has checked): the whole
 * file or one range of it, with `Accept-Ranges`, `Content-Length`, `ETag` (size and mtime, so a
 * file still being written gets a new one as it grows) and `Last-Modified`. Throws what
 * `Deno.open` throws (`Deno.errors.NotFound`, …), and `NotFound` for a directory.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { fileResponse } from "./file_response.ts";
 * const request = new Request("http://x/f", { headers: { range: "bytes=0-3" } });
 * const response = await fileResponse(request, "testdata/sample.webm", { contentType: "video/webm" });
 * assertEquals(response.status, 206);
 * assertEquals(new Uint8Array(await response.arrayBuffer()), new Uint8Array([0x1A, 0x45, 0xDF, 0xA3]));
 * ```
 */
export async function fileResponse(
  request: Request,
  path: string,
  options: FileResponseOptions,
): Promise<Response> {
  const file = await Deno.open(path, { read: true });
  let handedOver = false;
  try {
    const stat = await file.stat();
    if (!stat.isFile) throw new Deno.errors.NotFound(`Not a file: ${path}`);
    const size = stat.size;
    const mtime = stat.mtime?.getTime() ?? 0;
    const etag = `"${size.toString(16)}-${mtime.toString(16)}"`;
    const headers = new Headers({
      "content-type": options.contentType,
      "accept-ranges": "bytes",
      "etag": etag,
      "cache-control": options.cacheControl ?? "no-cache",
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "content-range, content-length, accept-ranges, etag",
    });
    if (stat.mtime) headers.set("last-modified", stat.mtime.toUTCString());
    const noneMatch = request.headers.get("if-none-match");
    if (noneMatch !== null && etagMatches(noneMatch, etag)) {
      return new Response(null, { status: STATUS_CODE.NotModified, headers });
    }
    let range = parseByteRange(request.headers.get("range"), size);
    // If-Range: the range only if the client's copy is this one (RFC 9110, 13.1.5: a strong
    // ETag match, or the exact Last-Modified date); else the whole file.
    const ifRange = request.headers.get("if-range");
    if (range !== undefined && ifRange !== null) {
      const same = ifRange.startsWith('"') || ifRange.startsWith("W/")
        ? ifRange.trim() === etag
        : ifRange.trim() === headers.get("last-modified");
      if (!same) range = undefined;
    }
    if (range === "unsatisfiable") {
      headers.set("content-range", `bytes */${size}`);
      headers.set("content-type", "text/plain; charset=utf-8");
      return new Response(`Range not satisfiable: the file has ${size} bytes\n`, {
        status: STATUS_CODE.RangeNotSatisfiable,
        headers,
      });
    }
    const status = range === undefined ? STATUS_CODE.OK : STATUS_CODE.PartialContent;
    const span = range ?? { start: 0, end: size - 1 };
    if (range !== undefined) {
      headers.set("content-range", `bytes ${span.start}-${span.end}/${size}`);
    }
    headers.set("content-length", String(span.end + 1 - span.start));
    if (request.method === "HEAD" || span.end < span.start) {
      return new Response(null, { status, headers });
    }
    handedOver = true;
    return new Response(rangeBody(file, span), { status, headers });
  } finally {
    if (!handedOver) file.close();
  }
}
