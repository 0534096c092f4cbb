/**
 * The `stsd` sample entry of a track (ISO/IEC 14496-12, §8.5.2 and §12.1.3 / §12.2.3), and the
 * RFC 6381 `codecs` string that HLS and DASH announce for it.
 *
 * @module
 */

import { Fields, writeBox } from "./boxes.ts";
import {
  readAudioSpecificConfig,
  readVp9Config,
  writeAv1C,
  writeAvcC,
  writeDfLa,
  writeDOps,
  writeEsds,
  writeHvcC,
  writeVpcC,
} from "./codec_config.ts";
import type { Mp4Track } from "./mp4_track.ts";

/** Sample entry type and configuration box writer by Matroska CodecID. */
const ENTRIES: Record<string, [string, (track: Mp4Track) => Uint8Array]> = {
  // hvc1, not hev1: parameter sets live in hvcC, and Apple requires hvc1 (HLS authoring spec).
  "V_MPEG4/ISO/AVC": ["avc1", writeAvcC],
  "V_MPEGH/ISO/HEVC": ["hvc1", writeHvcC],
  "V_AV1": ["av01", writeAv1C],
  "V_VP9": ["vp09", writeVpcC],
  "A_OPUS": ["Opus", writeDOps],
  "A_AAC": ["mp4a", writeEsds],
  "A_FLAC": ["fLaC", writeDfLa],
};

/** The entry for a CodecID, with the legacy `A_AAC/MPEG2/LC`-style IDs mapped onto `A_AAC`. */
function entryFor(codecId: string): [string, (track: Mp4Track) => Uint8Array] | undefined {
  return ENTRIES[codecId.startsWith("A_AAC/") ? "A_AAC" : codecId];
}

/** Whether a Matroska CodecID has an ISO BMFF form that this writer produces. */
export function hasMp4Form(codecId: string): boolean {
  return entryFor(codecId) !== undefined;
}

/**
 * The sample entry box (`avc1`, `hvc1`, `av01`, `vp09`, `Opus`, `mp4a` or `fLaC`) with its
 * configuration box, for the `stsd` of an init segment.
 *
 * @throws {TypeError} for a codec with no ISO BMFF form here (VP8, Vorbis, …), or malformed
 * CodecPrivate
 */
export function writeSampleEntry(track: Mp4Track): Uint8Array {
  const entry = entryFor(track.codecId);
  if (entry === undefined) throw new TypeError(`No ISO BMFF form for codec ${track.codecId}`);
  const [type, writeConfig] = entry;
  const config = writeConfig(track);
  // SampleEntry (§8.5.2.2): six reserved bytes, data_reference_index 1 (the self-contained dref).
  const fields = new Fields().zeros(6).u16(1);
  if (track.kind === "video") {
    // VisualSampleEntry (§12.1.3.2): 72 dpi, one frame per sample, 24-bit colour, no name.
    fields.zeros(16).u16(track.width ?? 0).u16(track.height ?? 0)
      .u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1).zeros(32).u16(0x18).i16(-1);
  } else {
    const rate = track.codecId === "A_OPUS" ? 48000 : track.sampleRate ?? 0;
    // AudioSampleEntry (§12.2.3.2): samplerate is 16.16 fixed point, so rates above 65535 Hz
    // (FLAC at 96 kHz) are written as 0; the decoder reads the real one from its config box,
    // and the timescale carries it. Opus is always 48 kHz here (Opus in ISO BMFF, §4.3.1).
    fields.zeros(8).u16(track.channels ?? 2).u16(16).zeros(4)
      .u32(rate <= 0xffff ? rate * 0x10000 : 0);
  }
  return writeBox(type, fields.bytes(), config);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function dec2(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * The RFC 6381 `codecs` parameter value for HLS `CODECS` and DASH `@codecs`, or `undefined` for
 * a codec with no ISO BMFF form here (VP8 and Vorbis go to WebM DASH instead).
 *
 * - `avc1.PPCCLL`: profile, constraint flags and level, bytes 1–3 of avcC (RFC 6381, §3.3).
 * - `hvc1.…`: ISO/IEC 14496-15 Annex E from the hvcC profile, tier, level and constraint fields.
 * - `av01.P.LLT.DD`: AV1-ISOBMFF "Codecs Parameter String", from av1C.
 * - `vp09.PP.LL.DD`: VP codec ISO BMFF binding, "Codecs Parameter String".
 * - `mp4a.40.N`: the audio object type of the AudioSpecificConfig (RFC 6381, §3.3).
 * - `opus` and `flac` as the Opus and FLAC bindings register them.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { codecString } from "./sample_entry.ts";
 * const avcC = new Uint8Array([1, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00]);
 * const track = { id: 1, kind: "video", codecId: "V_MPEG4/ISO/AVC", codecPrivate: avcC, timescale: 90000 } as const;
 * assertEquals(codecString(track), "avc1.64001f");
 * ```
 */
export function codecString(track: Mp4Track): string | undefined {
  if (!hasMp4Form(track.codecId)) return undefined;
  const cp = track.codecPrivate;
  switch (track.codecId) {
    case "V_MPEG4/ISO/AVC":
      writeAvcC(track); // validates
      return `avc1.${hex2(cp![1])}${hex2(cp![2])}${hex2(cp![3])}`;
    case "V_MPEGH/ISO/HEVC":
      writeHvcC(track);
      return hevcString(cp!);
    case "V_AV1": {
      writeAv1C(track);
      const depth = cp![2] & 0x20 ? 12 : cp![2] & 0x40 ? 10 : 8;
      const tier = cp![2] & 0x80 ? "H" : "M";
      return `av01.${cp![1] >> 5}.${dec2(cp![1] & 0x1f)}${tier}.${dec2(depth)}`;
    }
    case "V_VP9": {
      const c = readVp9Config(track);
      return `vp09.${dec2(c.profile)}.${dec2(c.level)}.${dec2(c.bitDepth)}`;
    }
    case "A_OPUS":
      return "opus";
    case "A_FLAC":
      return "flac";
  }
  const asc = readAudioSpecificConfig(track);
  const objectType = asc[0] >> 3;
  // Object type 31 escapes to 32 + the next six bits (ISO/IEC 14496-3, §1.6.2.1).
  const extended = objectType === 31 ? 32 + (((asc[0] & 7) << 3) | (asc[1] >> 5)) : objectType;
  return `mp4a.40.${extended}`;
}

/**
 * `hvc1.<space><profile>.<compat>.<tier><level>.<constraints>` (ISO/IEC 14496-15, Annex E.3):
 * the 32 compatibility flags in reverse bit order as hex, the six constraint bytes as hex with
 * trailing zero bytes left out.
 */
function hevcString(hvcC: Uint8Array): string {
  const space = ["", "A", "B", "C"][hvcC[1] >> 6];
  const tier = hvcC[1] & 0x20 ? "H" : "L";
  const profile = hvcC[1] & 0x1f;
  let flags = ((hvcC[2] << 24) | (hvcC[3] << 16) | (hvcC[4] << 8) | hvcC[5]) >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++, flags >>>= 1) reversed = ((reversed << 1) | (flags & 1)) >>> 0;
  const constraints = Array.from(hvcC.subarray(6, 12));
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const parts = [`hvc1`, `${space}${profile}`, reversed.toString(16), `${tier}${hvcC[12]}`];
  return [...parts, ...constraints.map((b) => b.toString(16).toUpperCase())].join(".");
}
