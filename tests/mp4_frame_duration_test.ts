import { assertEquals } from "@std/assert";
import { readFrameDuration } from "../lib/mp4/frame_duration.ts";
import type { Mp4Track } from "../lib/mp4/mp4_track.ts";

const OPUS: Mp4Track = { id: 1, kind: "audio", codecId: "A_OPUS", timescale: 48000 };
const FLAC: Mp4Track = {
  id: 1,
  kind: "audio",
  codecId: "A_FLAC",
  sampleRate: 44100,
  timescale: 44100,
};

function opus(...bytes: number[]): number | undefined {
  return readFrameDuration(OPUS, new Uint8Array(bytes));
}

function flac(...bytes: number[]): number | undefined {
  return readFrameDuration(FLAC, new Uint8Array([0xff, 0xf8, ...bytes]));
}

Deno.test("readFrameDuration reads an Opus packet's length from its TOC (RFC 6716, section 3.1)", () => {
  assertEquals(opus(0xfc), 960, "CELT fullband 20 ms, one frame");
  assertEquals(opus(0x80), 120, "CELT 2.5 ms");
  assertEquals(opus(0x08), 960, "SILK narrowband 20 ms");
  assertEquals(opus(0x18), 2880, "SILK 60 ms");
  assertEquals(opus(0x78), 960, "Hybrid fullband 20 ms");
  assertEquals(opus(0x09), 1920, "code 1: two frames");
  assertEquals(opus(0x0a), 1920, "code 2: two frames of different sizes");
  assertEquals(opus(0x03, 0x05), 2400, "code 3: frame count in the next byte, 5 x 10 ms");
  assertEquals(opus(0x03, 0x00), undefined, "code 3 with no frames");
  assertEquals(opus(), undefined, "an empty packet");
});

Deno.test("readFrameDuration reads a FLAC frame's block size (RFC 9639, section 9.1.1)", () => {
  assertEquals(flac(0x19, 0x08, 0x00), 192);
  assertEquals(flac(0x59, 0x08, 0x00), 4608, "576 << 3");
  assertEquals(flac(0xc9, 0x08, 0x00), 4096, "256 << 4");
  // Codes 6 and 7: the size minus 1 after the coded number (1 byte 0x00; 2 bytes 0xC2 0x80).
  assertEquals(flac(0x69, 0x08, 0x00, 0xff), 256);
  assertEquals(flac(0x79, 0x08, 0xc2, 0x80, 0x11, 0xff), 0x1200);
  assertEquals(flac(0x09, 0x08, 0x00), undefined, "code 0 is reserved");
  assertEquals(
    readFrameDuration(FLAC, new Uint8Array([0xff, 0xf0, 0xc9, 0x08, 0])),
    undefined,
    "no sync",
  );
});

Deno.test("readFrameDuration gives AAC 1024 samples, rescaled to the timescale, and nothing for video", () => {
  const aac: Mp4Track = {
    id: 1,
    kind: "audio",
    codecId: "A_AAC",
    sampleRate: 48000,
    timescale: 48000,
  };
  assertEquals(readFrameDuration(aac, new Uint8Array(10)), 1024);
  assertEquals(readFrameDuration({ ...aac, timescale: 96000 }, new Uint8Array(10)), 2048);
  assertEquals(readFrameDuration({ ...OPUS, timescale: 1000 }, new Uint8Array([0xfc])), 20);
  const video: Mp4Track = { id: 1, kind: "video", codecId: "V_VP9", timescale: 90000 };
  assertEquals(readFrameDuration(video, new Uint8Array([0xfc])), undefined);
});
