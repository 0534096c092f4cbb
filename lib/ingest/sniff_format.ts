/**
 * Recognizing what an input is from its first bytes.
 *
 * @module
 */

/** The four bytes every EBML document starts with (the EBML element's ID). */
export const EBML_MAGIC: readonly number[] = [0x1A, 0x45, 0xDF, 0xA3];

/**
 * Names the format of a stream from its first bytes: `"ebml"` for Matroska/WebM, another name
 * for formats worth naming in an error (`"mp4"`, `"mpegts"`, `"flv"`, …), `"unknown"` otherwise.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sniffFormat } from "./sniff_format.ts";
 * assertEquals(sniffFormat(new Uint8Array([0x1A, 0x45, 0xDF, 0xA3])), "ebml");
 * assertEquals(sniffFormat(new TextEncoder().encode("FLV\x01")), "flv");
 * ```
 */
export function sniffFormat(head: Uint8Array): string {
  if (EBML_MAGIC.every((b, i) => head[i] === b)) return "ebml";
  const ascii = (from: number, to: number) =>
    String.fromCharCode(...head.subarray(from, Math.min(to, head.length)));
  if (ascii(4, 8) === "ftyp" || ascii(4, 8) === "moov") return "mp4";
  if (ascii(0, 3) === "FLV") return "flv";
  if (head[0] === 0x47 && (head.length < 189 || head[188] === 0x47)) {
    return "mpegts";
  }
  if (ascii(0, 4) === "RIFF") return "riff (avi/wav)";
  if (ascii(0, 4) === "OggS") return "ogg";
  if (
    ascii(0, 3) === "ID3" || (head[0] === 0xff && (head[1] & 0xe0) === 0xe0)
  ) return "mp3/aac";
  if (
    head.length > 0 &&
    head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127))
  ) {
    return "text";
  }
  return "unknown";
}

/** Formats the first bytes of an input for an error message, e.g. `00 00 00 20 66 74 79 70`. */
export function hexPrefix(head: Uint8Array, count = 8): string {
  return Array.from(
    head.subarray(0, count),
    (b) => b.toString(16).padStart(2, "0"),
  ).join(" ");
}

/**
 * Reads the first `count` bytes of `stream` (fewer if it ends first) without losing them:
 * returns them and a stream that yields everything, those bytes included.
 */
export async function peekBytes(
  stream: ReadableStream<Uint8Array>,
  count = 4,
): Promise<{ head: Uint8Array; stream: ReadableStream<Uint8Array> }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < count) {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      break;
    }
    chunks.push(value);
    have += value.length;
  }
  const head = new Uint8Array(Math.min(have, count));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= head.length) break;
    const part = chunk.subarray(0, head.length - at);
    head.set(part, at);
    at += part.length;
  }
  let replay = 0;
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (replay < chunks.length) return controller.enqueue(chunks[replay++]);
      if (ended) return controller.close();
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { head, stream: rest };
}
