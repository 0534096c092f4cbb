/**
 * The duration of one audio frame, read from the frame itself where the codec says it, in the
 * track's timescale (its sample rate). Matroska gives laced frames one time per block and rounds
 * times to its clock, so the packager needs each frame's real length: for the offset of the next
 * frame in a lace, and for the last sample of a chunk (whose duration no next DTS gives).
 *
 * @module
 */

import type { Mp4Track } from "./mp4_track.ts";

/** Opus frame sizes in 48 kHz samples by TOC config (RFC 6716, §3.1, Table 2). */
function opusFrameSize(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config & 1]; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config & 3]; // CELT: 2.5, 5, 10, 20 ms
}

/** Samples in an Opus packet: frame size × frame count, from the TOC byte (RFC 6716, §3.1–3.2). */
function opusDuration(packet: Uint8Array): number | undefined {
  if (packet.length === 0) return undefined;
  const toc = packet[0];
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : packet.length > 1 ? packet[1] & 0x3f : 0;
  return frames === 0 ? undefined : frames * opusFrameSize(toc >> 3);
}

/**
 * Samples in a FLAC frame, from the block size bits of its header (RFC 9639, §9.1.1). Codes 6
 * and 7 keep the size after the coded frame or sample number, whose length its first byte gives
 * (§9.1.5, a UTF-8-like code of 1 to 7 bytes).
 */
function flacDuration(frame: Uint8Array): number | undefined {
  if (frame.length < 5 || frame[0] !== 0xff || (frame[1] & 0xfe) !== 0xf8) return undefined;
  const code = frame[2] >> 4;
  if (code === 1) return 192;
  if (code >= 2 && code <= 5) return 576 << (code - 2);
  if (code >= 8) return 256 << (code - 8);
  if (code !== 6 && code !== 7) return undefined;
  const first = frame[4];
  let length = 1;
  while (length < 7 && first & (0x80 >> length) && first & 0x80) length++;
  const at = 4 + length;
  if (code === 6) return at < frame.length ? frame[at] + 1 : undefined;
  return at + 1 < frame.length ? ((frame[at] << 8) | frame[at + 1]) + 1 : undefined;
}

/**
 * One frame's duration in the track's timescale, or `undefined` when it cannot be told (a
 * video frame, an unreadable header). AAC frames are 1024 samples of the AudioSpecificConfig's
 * rate (ISO/IEC 14496-3, §4.5.2.1; the 960-sample variant is not used by ISO BMFF AAC).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFrameDuration } from "./frame_duration.ts";
 * const opus = { id: 1, kind: "audio", codecId: "A_OPUS", timescale: 48000 } as const;
 * // TOC 0xFC: CELT fullband 20 ms (config 31), one frame.
 * assertEquals(readFrameDuration(opus, new Uint8Array([0xfc, 0xff])), 960);
 * ```
 */
export function readFrameDuration(track: Mp4Track, frame: Uint8Array): number | undefined {
  let samples: number | undefined;
  let rate = track.sampleRate ?? track.timescale;
  if (track.codecId === "A_OPUS") {
    samples = opusDuration(frame);
    rate = 48000;
  } else if (track.codecId === "A_FLAC") {
    samples = flacDuration(frame);
  } else if (track.codecId === "A_AAC" || track.codecId.startsWith("A_AAC/")) {
    samples = 1024;
  }
  if (samples === undefined) return undefined;
  return rate === track.timescale ? samples : Math.round(samples * track.timescale / rate);
}
