/**
 * The CMAF header (init segment) of one track: `ftyp` + `moov` (ISO/IEC 23000-19, §7.3.1;
 * box layouts from ISO/IEC 14496-12).
 *
 * @module
 */

import { Fields, writeBox, writeFourCc, writeFullBox } from "./boxes.ts";
import type { Mp4Track } from "./mp4_track.ts";
import { writeSampleEntry } from "./sample_entry.ts";

/** The unity transformation matrix of `mvhd` and `tkhd` (§8.2.2.3): 16.16 and 2.30 fixed point. */
const MATRIX = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

function writeMatrix(fields: Fields): Fields {
  for (const value of MATRIX) fields.u32(value);
  return fields;
}

/**
 * `ftyp` (§4.3): major brand `iso6` (the version of 14496-12 whose boxes are used: `tfdt`,
 * signed `trun` offsets), compatible with `cmfc` (CMAF, §7.2) and `mp41`.
 */
export function writeFileType(): Uint8Array {
  return writeBox(
    "ftyp",
    writeFourCc("iso6"),
    new Uint8Array(4),
    ...["iso6", "cmfc", "mp41"].map(writeFourCc),
  );
}

/** An ISO 639-2/T code packed as three 5-bit letters (§8.4.2.3); `und` when absent or invalid. */
function packLanguage(language = "und"): number {
  const code = /^[a-z]{3}$/.test(language) ? language : "und";
  let packed = 0;
  for (let i = 0; i < 3; i++) packed = (packed << 5) | (code.charCodeAt(i) - 0x60);
  return packed;
}

function checkTrack(track: Mp4Track): void {
  if (!Number.isInteger(track.id) || track.id < 1 || track.id > 0xffff_fffe) {
    throw new TypeError(`Track id must be an integer from 1 to 2^32 - 2: ${track.id}`);
  }
  if (!Number.isInteger(track.timescale) || track.timescale < 1 || track.timescale > 0xffff_ffff) {
    throw new TypeError(`Track timescale must be a positive 32-bit integer: ${track.timescale}`);
  }
}

/** `trak` (§8.3.1): header, media header and handler, and an empty sample table (fragments hold the samples). */
function writeTrack(track: Mp4Track): Uint8Array {
  const video = track.kind === "video";
  // tkhd (§8.3.2) version 0; flags: track_enabled | track_in_movie. Duration 0: unknown, live.
  const tkhd = writeMatrix(
    new Fields().u32(0).u32(0).u32(track.id).u32(0).u32(0).zeros(8).u16(0).u16(0)
      .u16(video ? 0 : 0x0100).u16(0),
  ).u32((video ? track.width ?? 0 : 0) * 0x10000).u32((video ? track.height ?? 0 : 0) * 0x10000);
  const mdhd = new Fields().u32(0).u32(0).u32(track.timescale).u32(0)
    .u16(packLanguage(track.language)).u16(0);
  const hdlr = new Fields().u32(0).raw(writeFourCc(video ? "vide" : "soun")).zeros(12)
    .raw(new TextEncoder().encode(video ? "VideoHandler\0" : "SoundHandler\0"));
  // vmhd has flags 1 (§12.1.2.2); smhd balance 0 (centre).
  const mediaHeader = video
    ? writeFullBox("vmhd", 0, 1, new Uint8Array(8))
    : writeFullBox("smhd", 0, 0, new Uint8Array(4));
  // dref with one `url ` of flags 1: the media data is in this same file (§8.7.2).
  const dinf = writeBox(
    "dinf",
    writeFullBox("dref", 0, 0, new Fields().u32(1).bytes(), writeFullBox("url ", 0, 1)),
  );
  const empty = new Fields().u32(0).bytes();
  const stbl = writeBox(
    "stbl",
    writeFullBox("stsd", 0, 0, new Fields().u32(1).bytes(), writeSampleEntry(track)),
    writeFullBox("stts", 0, 0, empty),
    writeFullBox("stsc", 0, 0, empty),
    writeFullBox("stsz", 0, 0, new Fields().u32(0).u32(0).bytes()),
    writeFullBox("stco", 0, 0, empty),
  );
  return writeBox(
    "trak",
    writeFullBox("tkhd", 0, 3, tkhd.bytes()),
    writeBox(
      "mdia",
      writeFullBox("mdhd", 0, 0, mdhd.bytes()),
      writeFullBox("hdlr", 0, 0, hdlr.bytes()),
      writeBox("minf", mediaHeader, dinf, stbl),
    ),
  );
}

/**
 * The init segment of one track: `ftyp`, then `moov` with `mvhd`, the `trak`, and `mvex` with a
 * `trex` whose defaults are all zero (every fragment states its own, see `writeFragment`).
 *
 * @throws {TypeError} for a bad track id or timescale, or a codec with no ISO BMFF form
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeInitSegment } from "./init_segment.ts";
 * const opusHead = new Uint8Array([..."OpusHead"].map((c) => c.charCodeAt(0)).concat([1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]));
 * const init = writeInitSegment({ id: 1, kind: "audio", codecId: "A_OPUS", codecPrivate: opusHead, sampleRate: 48000, channels: 2, timescale: 48000 });
 * assertEquals(new TextDecoder().decode(init.subarray(4, 8)), "ftyp");
 * ```
 */
export function writeInitSegment(track: Mp4Track): Uint8Array {
  checkTrack(track);
  // mvhd (§8.2.2) version 0: the movie clock is the track's; rate 1.0, volume 1.0.
  const mvhd = writeMatrix(
    new Fields().u32(0).u32(0).u32(track.timescale).u32(0).u32(0x0001_0000).u16(0x0100).zeros(10),
  ).zeros(24).u32(track.id + 1);
  const trex = new Fields().u32(track.id).u32(1).u32(0).u32(0).u32(0);
  const moov = writeBox(
    "moov",
    writeFullBox("mvhd", 0, 0, mvhd.bytes()),
    writeTrack(track),
    writeBox("mvex", writeFullBox("trex", 0, 0, trex.bytes())),
  );
  const ftyp = writeFileType();
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp);
  out.set(moov, ftyp.length);
  return out;
}
