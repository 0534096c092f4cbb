// Sample entries, configuration boxes and codecs strings, against bytes derived by hand from
// ISO/IEC 14496-12/-14/-15, RFC 7845, the Opus, FLAC, VP9 and AV1 ISO BMFF bindings.
import { assertEquals, assertThrows } from "@std/assert";
import { writeDfLa, writeDOps, writeEsds, writeVpcC } from "../lib/mp4/codec_config.ts";
import type { Mp4Track } from "../lib/mp4/mp4_track.ts";
import { codecString, hasMp4Form, writeSampleEntry } from "../lib/mp4/sample_entry.ts";
import { bytesOf } from "./_mp4.ts";

function track(codecId: string, fields: Partial<Mp4Track> = {}): Mp4Track {
  const kind = codecId.startsWith("V_") ? "video" : "audio";
  return { id: 1, kind, codecId, timescale: kind === "video" ? 90000 : 48000, ...fields };
}

// OpusHead (RFC 7845 §5.1), little-endian: version 1, 2 channels, pre-skip 312, 48000 Hz, gain -1.
const OPUS_HEAD = bytesOf("OpusHead", 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0xff, 0xff, 0);
// High profile (0x64), level 3.1 (0x1f), 4-byte lengths, one 4-byte SPS, one 2-byte PPS.
const AVCC = bytesOf(
  1,
  0x64,
  0x00,
  0x1f,
  0xff,
  0xe1,
  0,
  4,
  0x67,
  0x64,
  0,
  0x1f,
  1,
  0,
  2,
  0x68,
  0xee,
);
// AAC-LC (object type 2), 48 kHz (index 3), 2 channels: 00010 0011 0010 000.
const ASC_LC = bytesOf(0x11, 0x90);

Deno.test("writeSampleEntry writes avc1 (VisualSampleEntry) with CodecPrivate verbatim as avcC", () => {
  const entry = writeSampleEntry(
    track("V_MPEG4/ISO/AVC", { codecPrivate: AVCC, width: 320, height: 240 }),
  );
  assertEquals(
    entry,
    bytesOf(
      ...[0, 0, 0, 86 + 8 + AVCC.length],
      "avc1",
      ...[0, 0, 0, 0, 0, 0, 0, 1], // reserved, data_reference_index 1
      ...new Array(16).fill(0), // pre_defined, reserved
      ...[0x01, 0x40, 0x00, 0xf0], // 320 x 240
      ...[0, 0x48, 0, 0, 0, 0x48, 0, 0], // 72 dpi
      ...[0, 0, 0, 0, 0, 1], // reserved, frame_count 1
      ...new Array(32).fill(0), // compressorname
      ...[0, 0x18, 0xff, 0xff], // depth 24, pre_defined -1
      ...[0, 0, 0, 8 + AVCC.length],
      "avcC",
      ...AVCC,
    ),
  );
});

Deno.test("writeSampleEntry writes Opus (AudioSampleEntry) with dOps: big-endian, version 0, no magic", () => {
  const entry = writeSampleEntry(
    track("A_OPUS", { codecPrivate: OPUS_HEAD, channels: 2, sampleRate: 48000 }),
  );
  assertEquals(
    entry,
    bytesOf(
      ...[0, 0, 0, 55],
      "Opus",
      ...[0, 0, 0, 0, 0, 0, 0, 1],
      ...new Array(8).fill(0), // reserved
      ...[0, 2, 0, 16, 0, 0, 0, 0], // channelcount 2, samplesize 16, pre_defined, reserved
      ...[0xbb, 0x80, 0, 0], // 48000 in 16.16
      ...[0, 0, 0, 19],
      "dOps",
      ...[0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0xff, 0xff, 0],
    ),
  );
});

Deno.test("writeDOps keeps the channel mapping table of mapping family 1", () => {
  // 6 channels, family 1: 4 streams, 2 coupled, mapping 0 4 1 2 3 5 (RFC 7845 §5.1.1.2).
  const head = bytesOf(
    "OpusHead",
    1,
    6,
    0x38,
    0x01,
    0x80,
    0xbb,
    0,
    0,
    0,
    0,
    1,
    4,
    2,
    0,
    4,
    1,
    2,
    3,
    5,
  );
  assertEquals(
    writeDOps(track("A_OPUS", { codecPrivate: head })),
    bytesOf(
      0,
      0,
      0,
      27,
      "dOps",
      0,
      6,
      0x01,
      0x38,
      0,
      0,
      0xbb,
      0x80,
      0,
      0,
      1,
      4,
      2,
      0,
      4,
      1,
      2,
      3,
      5,
    ),
  );
  assertThrows(() => writeDOps(track("A_OPUS", { codecPrivate: head.subarray(0, 24) })), TypeError);
  assertThrows(
    () => writeDOps(track("A_OPUS", { codecPrivate: new Uint8Array(19) })),
    TypeError,
    "OpusHead",
  );
});

Deno.test("writeEsds wraps the AudioSpecificConfig in ES, DecoderConfig and SLConfig descriptors", () => {
  const esds = bytesOf(
    ...[0, 0, 0, 39],
    "esds",
    ...[0, 0, 0, 0],
    ...[0x03, 25, 0, 1, 0], // ES_Descriptor: ES_ID 1, no flags
    ...[0x04, 17, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // MPEG-4 audio, streamType 5
    ...[0x05, 2, 0x11, 0x90], // DecoderSpecificInfo: the ASC
    ...[0x06, 1, 0x02], // SLConfigDescriptor, predefined 2
  );
  assertEquals(writeEsds(track("A_AAC", { codecPrivate: ASC_LC })), esds);
  // The legacy CodecIDs carry no CodecPrivate: the ASC is built from the profile, rate, channels.
  assertEquals(writeEsds(track("A_AAC/MPEG4/LC", { sampleRate: 48000, channels: 2 })), esds);
  assertThrows(
    () => writeEsds(track("A_AAC/MPEG4/LC", { sampleRate: 47999, channels: 2 })),
    TypeError,
  );
});

Deno.test("writeDfLa drops the fLaC marker and PADDING, and sets the last-block flag", () => {
  const streamInfo = new Array(34).fill(0).map((_, i) => i);
  const cp = bytesOf("fLaC", 0x00, 0, 0, 34, ...streamInfo, 0x81, 0, 0, 2, 0, 0);
  assertEquals(
    writeDfLa(track("A_FLAC", { codecPrivate: cp })),
    bytesOf(0, 0, 0, 50, "dfLa", 0, 0, 0, 0, 0x80, 0, 0, 34, ...streamInfo),
  );
  assertEquals(cp[4], 0x00, "CodecPrivate itself is not changed");
  assertThrows(
    () =>
      writeDfLa(track("A_FLAC", { codecPrivate: bytesOf("fLaC", 0x01, 0, 0, 34, ...streamInfo) })),
    TypeError,
  );
});

Deno.test("writeVpcC takes the VP9 CodecPrivate features, else defaults with a level from the size", () => {
  assertEquals(
    writeVpcC(track("V_VP9", { width: 320, height: 240 })),
    bytesOf(0, 0, 0, 20, "vpcC", 1, 0, 0, 0, 0, 20, 0x82, 1, 1, 1, 0, 0),
  );
  // Features: profile 2 (ID 1), level 4.1 (ID 2), 10 bits (ID 3), 4:2:0 vertical (ID 4 = 0).
  const cp = bytesOf(1, 1, 2, 2, 1, 41, 3, 1, 10, 4, 1, 0);
  assertEquals(
    writeVpcC(track("V_VP9", { codecPrivate: cp, width: 1920, height: 1080 })),
    bytesOf(0, 0, 0, 20, "vpcC", 1, 0, 0, 0, 2, 41, 0xa0, 1, 1, 1, 0, 0),
  );
  assertEquals(codecString(track("V_VP9", { codecPrivate: cp })), "vp09.02.41.10");
  assertThrows(() => writeVpcC(track("V_VP9", { codecPrivate: bytesOf(1, 2, 0) })), TypeError);
});

Deno.test("codecString gives the RFC 6381 string of each codec, and none for VP8 and Vorbis", () => {
  assertEquals(codecString(track("V_MPEG4/ISO/AVC", { codecPrivate: AVCC })), "avc1.64001f");
  // hvcC: Main profile (1), compatibility 0x60000000, constraints B0, level 93 (3.1).
  const hvcC = bytesOf(1, 0x01, 0x60, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 93, ...new Array(10).fill(0));
  assertEquals(codecString(track("V_MPEGH/ISO/HEVC", { codecPrivate: hvcC })), "hvc1.1.6.L93.B0");
  // High tier, Main 10 (2), compatibility 0x20000000, no constraint bytes, level 120.
  const main10 = bytesOf(1, 0x22, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120, ...new Array(10).fill(0));
  assertEquals(codecString(track("V_MPEGH/ISO/HEVC", { codecPrivate: main10 })), "hvc1.2.4.H120");
  // av1C: main profile 0, level 8 (4.0), main tier, 8 bits; then high tier, 10 bits.
  assertEquals(
    codecString(track("V_AV1", { codecPrivate: bytesOf(0x81, 0x08, 0x0c, 0) })),
    "av01.0.08M.08",
  );
  assertEquals(
    codecString(track("V_AV1", { codecPrivate: bytesOf(0x81, 0x2d, 0xcc, 0) })),
    "av01.1.13H.10",
  );
  assertEquals(codecString(track("V_VP9", { width: 1280, height: 720 })), "vp09.00.31.08");
  assertEquals(codecString(track("A_AAC", { codecPrivate: ASC_LC })), "mp4a.40.2");
  assertEquals(
    codecString(track("A_AAC", { codecPrivate: bytesOf(0x2b, 0x11, 0x88, 0) })),
    "mp4a.40.5",
  );
  // Object type 31 escapes: 31 + 6 bits 001010 = 32 + 10 = 42 (USAC).
  assertEquals(codecString(track("A_AAC", { codecPrivate: bytesOf(0xf9, 0x40) })), "mp4a.40.42");
  assertEquals(codecString(track("A_OPUS", { codecPrivate: OPUS_HEAD })), "opus");
  assertEquals(codecString(track("A_FLAC")), "flac");
  assertEquals(codecString(track("V_VP8")), undefined);
  assertEquals(codecString(track("A_VORBIS")), undefined);
  assertEquals([hasMp4Form("V_VP8"), hasMp4Form("A_AAC/MPEG2/LC"), hasMp4Form("V_AV1")], [
    false,
    true,
    true,
  ]);
});

Deno.test("writeSampleEntry refuses malformed or missing configuration records", () => {
  assertThrows(() => writeSampleEntry(track("V_MPEG4/ISO/AVC")), TypeError, "CodecPrivate");
  assertThrows(
    () =>
      writeSampleEntry(
        track("V_MPEG4/ISO/AVC", { codecPrivate: bytesOf(2, 0x64, 0, 0x1f, 0xff, 0xe0, 0) }),
      ),
    TypeError,
    "configurationVersion",
  );
  assertThrows(
    () => writeSampleEntry(track("V_MPEGH/ISO/HEVC", { codecPrivate: new Uint8Array(22) })),
    TypeError,
  );
  assertThrows(
    () => writeSampleEntry(track("V_AV1", { codecPrivate: bytesOf(0x01, 0, 0, 0) })),
    TypeError,
    "marker",
  );
  assertThrows(() => writeSampleEntry(track("V_VP8")), TypeError, "No ISO BMFF form");
});

Deno.test("writeSampleEntry writes fLaC with samplerate 0 above 65535 Hz (16.16 cannot hold it)", () => {
  const cp = bytesOf("fLaC", 0x80, 0, 0, 34, ...new Array(34).fill(0));
  const entry = writeSampleEntry(
    track("A_FLAC", { codecPrivate: cp, sampleRate: 96000, channels: 2 }),
  );
  assertEquals(new DataView(entry.buffer).getUint32(32), 0);
  const low = writeSampleEntry(
    track("A_FLAC", { codecPrivate: cp, sampleRate: 44100, channels: 2 }),
  );
  assertEquals(new DataView(low.buffer).getUint32(32), 44100 * 65536);
});
