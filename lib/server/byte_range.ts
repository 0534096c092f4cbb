/**
 * The `Range` header of a request for bytes of a file (RFC 9110, section 14).
 *
 * @module
 */

/** The first and last byte (inclusive) of a satisfiable range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a `Range` header asks of a representation of `size` bytes: `undefined` to send it whole
 * (no header, another unit, a malformed value, or several ranges: RFC 9110 section 14.2 lets a
 * server ignore the field), `"unsatisfiable"` for a single range that starts past the end
 * (`416`), else the range clipped to the file.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseByteRange } from "./byte_range.ts";
 * assertEquals(parseByteRange("bytes=0-99", 1000), { start: 0, end: 99 });
 * assertEquals(parseByteRange("bytes=900-", 1000), { start: 900, end: 999 });
 * assertEquals(parseByteRange("bytes=-100", 1000), { start: 900, end: 999 });
 * assertEquals(parseByteRange("bytes=1000-", 1000), "unsatisfiable");
 * assertEquals(parseByteRange("lines=1-2", 1000), undefined);
 * ```
 */
export function parseByteRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === null) return undefined;
  const m = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header.trim());
  if (m === null) return undefined;
  const [, first, last] = m;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // A suffix range: the last N bytes (RFC 9110, 14.1.2); zero of them cannot be sent.
    const n = Number(last);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined; // invalid: ignored (14.1.1)
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { start, end };
}

/**
 * Whether an `If-None-Match` or `If-Range`-style list names `etag` (weak comparison for
 * If-None-Match, RFC 9110 section 13.1.2: `W/` is ignored; `*` matches any).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { etagMatches } from "./byte_range.ts";
 * assertEquals(etagMatches('"a", W/"b"', '"b"'), true);
 * assertEquals(etagMatches('"c"', '"b"'), false);
 * ```
 */
export function etagMatches(list: string, etag: string): boolean {
  if (list.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return list.split(",").some((tag) => tag.trim().replace(/^W\//, "") === bare);
}
