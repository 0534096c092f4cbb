// Box primitives and the init segment, against bytes derived by hand from ISO/IEC 14496-12.
import { assertEquals, assertThrows } from "@std/assert";
import { Fields, writeBox, writeBoxHeader, writeFourCc, writeFullBox } from "../lib/mp4/boxes.ts";
import { writeFileType, writeInitSegment } from "../lib/mp4/init_segment.ts";
import type { Mp4Track } from "../lib/mp4/mp4_track.ts";
import { bytesOf, children, find } from "./_mp4.ts";

Deno.test("writeBoxHeader writes a 32-bit size and the type, or size 1 and a 64-bit largesize", () => {
  assertEquals(writeBoxHeader("mdat", 3), bytesOf(0, 0, 0, 11, "mdat"));
  assertEquals(writeBoxHeader("mdat", 2 ** 32 - 9), bytesOf(0xff, 0xff, 0xff, 0xff, "mdat"));
  assertEquals(
    writeBoxHeader("mdat", 2 ** 32 - 8),
    bytesOf(0, 0, 0, 1, "mdat", 0, 0, 0, 1, 0, 0, 0, 8),
  );
  assertThrows(() => writeBoxHeader("mdat", -1), RangeError);
});

Deno.test("writeBox and writeFullBox put size, type, version and flags before the payload", () => {
  assertEquals(
    writeBox("free", new Uint8Array([1]), new Uint8Array([2, 3])),
    bytesOf(0, 0, 0, 11, "free", 1, 2, 3),
  );
  assertEquals(writeFullBox("url ", { flags: 1 }), bytesOf(0, 0, 0, 12, "url ", 0, 0, 0, 1));
  assertEquals(
    writeFullBox("tfdt", { version: 1, flags: 0x020304 }),
    bytesOf(0, 0, 0, 12, "tfdt", 1, 2, 3, 4),
  );
  assertThrows(() => writeFullBox("tfdt", { version: 256 }), RangeError);
  assertThrows(() => writeFullBox("tfdt", { flags: 1 << 24 }), RangeError);
});

Deno.test("writeFourCc refuses types that are not four ISO 8859-1 characters", () => {
  assertEquals(writeFourCc("©too"), new Uint8Array([0xa9, 0x74, 0x6f, 0x6f]));
  assertThrows(() => writeFourCc("moo"), TypeError);
  assertThrows(() => writeFourCc("mo\u0100v"), TypeError);
});

Deno.test("Fields writes big-endian fields and refuses values that do not fit", () => {
  const f = new Fields().u8(1).u16(0x0203).u24(0x040506).u32(0x0708090a).i16(-2).i32(-3).u64(
    2 ** 40 + 5,
  )
    .zeros(2).raw(new Uint8Array([0xee]));
  assertEquals(
    f.bytes(),
    bytesOf(
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
      0xff,
      0xfe,
      0xff,
      0xff,
      0xff,
      0xfd,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      5,
      0,
      0,
      0xee,
    ),
  );
  // Growing past the first 64 bytes keeps what was written.
  const long = new Fields();
  for (let i = 0; i < 100; i++) long.u32(i);
  assertEquals(new DataView(long.bytes().buffer).getUint32(4 * 99), 99);
  assertThrows(() => new Fields().u8(256), RangeError);
  assertThrows(() => new Fields().u16(-1), RangeError);
  assertThrows(() => new Fields().u32(1.5), RangeError);
  assertThrows(() => new Fields().i16(0x8000), RangeError);
});

Deno.test("writeFileType writes ftyp iso6, minor 0, compatible iso6 cmfc mp41", () => {
  assertEquals(
    writeFileType(),
    bytesOf(0, 0, 0, 28, "ftyp", "iso6", 0, 0, 0, 0, "iso6", "cmfc", "mp41"),
  );
});

const OPUS_HEAD = bytesOf("OpusHead", 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0);
const AUDIO: Mp4Track = {
  id: 2,
  kind: "audio",
  codecId: "A_OPUS",
  codecPrivate: OPUS_HEAD,
  sampleRate: 48000,
  channels: 2,
  language: "eng",
  timescale: 48000,
};

Deno.test("writeInitSegment writes ftyp, then moov with mvhd, trak and mvex/trex for one track", () => {
  const init = writeInitSegment(AUDIO);
  assertEquals(children(init).map((b) => b.type), ["ftyp", "moov"]);
  const moov = find(init, ["moov"]);
  assertEquals(children(moov.subarray(8)).map((b) => b.type), ["mvhd", "trak", "mvex"]);
  const stbl = find(init, ["moov", "trak", "mdia", "minf", "stbl"]);
  assertEquals(children(stbl.subarray(8)).map((b) => b.type), [
    "stsd",
    "stts",
    "stsc",
    "stsz",
    "stco",
  ]);
  // Empty sample tables: the samples are in the fragments (§8.8.1).
  assertEquals(
    find(init, ["moov", "trak", "mdia", "minf", "stbl", "stts"]),
    bytesOf(0, 0, 0, 16, "stts", 0, 0, 0, 0, 0, 0, 0, 0),
  );
  // trex: track 2, sample description 1, no defaults (each fragment states its own).
  assertEquals(
    find(init, ["moov", "mvex", "trex"]),
    bytesOf(0, 0, 0, 32, "trex", 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, ...new Array(12).fill(0)),
  );
  // mdhd: timescale 48000, language "eng" packed as 5-bit letters (5, 14, 7) = 0x15C7.
  assertEquals(
    find(init, ["moov", "trak", "mdia", "mdhd"]),
    bytesOf(
      0,
      0,
      0,
      32,
      "mdhd",
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xbb,
      0x80,
      0,
      0,
      0,
      0,
      0x15,
      0xc7,
      0,
      0,
    ),
  );
  assertEquals(
    find(init, ["moov", "trak", "mdia", "hdlr"]),
    bytesOf(
      0,
      0,
      0,
      45,
      "hdlr",
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      "soun",
      ...new Array(12).fill(0),
      "SoundHandler",
      0,
    ),
  );
  assertEquals(
    find(init, ["moov", "trak", "mdia", "minf", "smhd"]),
    bytesOf(0, 0, 0, 16, "smhd", 0, 0, 0, 0, 0, 0, 0, 0),
  );
  assertEquals(
    find(init, ["moov", "trak", "mdia", "minf", "dinf", "dref"]),
    bytesOf(0, 0, 0, 28, "dref", 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 12, "url ", 0, 0, 0, 1),
  );
});

Deno.test("writeInitSegment writes mvhd and tkhd with the track's clock, id and picture size", () => {
  const init = writeInitSegment({
    id: 1,
    kind: "video",
    codecId: "V_AV1",
    codecPrivate: bytesOf(0x81, 0x04, 0x0c, 0),
    width: 320,
    height: 240,
    timescale: 90000,
  });
  const mvhd = new DataView(find(init, ["moov", "mvhd"]).slice().buffer);
  assertEquals(mvhd.byteLength, 108);
  assertEquals(mvhd.getUint32(20), 90000, "timescale");
  assertEquals(mvhd.getUint32(28), 0x00010000, "rate 1.0");
  assertEquals(mvhd.getUint32(104), 2, "next_track_ID");
  const tkhd = new DataView(find(init, ["moov", "trak", "tkhd"]).slice().buffer);
  assertEquals(tkhd.byteLength, 92);
  assertEquals(tkhd.getUint32(8), 3, "version 0, enabled | in movie");
  assertEquals(tkhd.getUint32(20), 1, "track_ID");
  assertEquals(tkhd.getUint16(44), 0, "video has volume 0");
  assertEquals([tkhd.getUint32(84), tkhd.getUint32(88)], [320 << 16, 240 << 16]);
  assertEquals(
    find(init, ["moov", "trak", "mdia", "minf", "vmhd"]),
    bytesOf(0, 0, 0, 20, "vmhd", 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
  );
});

Deno.test("writeInitSegment refuses a bad track id or timescale, and codecs with no ISO BMFF form", () => {
  assertThrows(() => writeInitSegment({ ...AUDIO, id: 0 }), TypeError);
  assertThrows(() => writeInitSegment({ ...AUDIO, timescale: 0 }), TypeError);
  assertThrows(() => writeInitSegment({ ...AUDIO, codecId: "A_VORBIS" }), TypeError, "A_VORBIS");
});
