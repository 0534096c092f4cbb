/**
 * A `ByteSource` over an open file, for the pure scanner.
 *
 * @module
 */

import type { ByteSource } from "../matroska/recording_scan.ts";

/** Random reads of `file`, which is `size` bytes long. */
export function fileSource(file: Deno.FsFile, size: number): ByteSource {
  return {
    size,
    async read(at: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - at)));
      await file.seek(at, Deno.SeekMode.Start);
      let n = 0;
      while (n < out.length) {
        const got = await file.read(out.subarray(n));
        if (got === null) break;
        n += got;
      }
      return out.subarray(0, n);
    },
  };
}
