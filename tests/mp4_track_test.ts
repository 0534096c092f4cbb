import { assertEquals, assertThrows } from "@std/assert";
import { chooseTimescale, toMp4Track, VIDEO_TIMESCALE } from "../lib/mp4/mp4_track.ts";

Deno.test("chooseTimescale gives audio its sample rate (Opus 48 kHz) and video 90 kHz when exact", () => {
  const audio = { kind: "audio", codecId: "A_AAC", sampleRate: 44100 } as const;
  assertEquals(chooseTimescale(audio, 1_000_000), 44100);
  assertEquals(
    chooseTimescale({ ...audio, codecId: "A_OPUS", sampleRate: 16000 }, 1_000_000),
    48000,
  );
  assertThrows(() => chooseTimescale({ ...audio, sampleRate: 44100.5 }, 1_000_000), TypeError);
  const video = { kind: "video", codecId: "V_VP9" } as const;
  assertEquals(chooseTimescale(video, 1_000_000), VIDEO_TIMESCALE, "milliseconds map exactly");
  assertEquals(chooseTimescale(video, 100_000), VIDEO_TIMESCALE, "0.1 ms too");
  // 1 µs units do not fit 90 kHz: the Matroska clock itself, so no time is rounded.
  assertEquals(chooseTimescale(video, 1000), 1_000_000);
  assertEquals(chooseTimescale(video, 3), VIDEO_TIMESCALE, "no exact integer clock: 90 kHz");
});

Deno.test("toMp4Track maps a Matroska track with an ISO BMFF form, and none without", () => {
  const codecPrivate = new Uint8Array([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0]);
  assertEquals(
    toMp4Track(
      {
        number: 3,
        kind: "video",
        codecId: "V_MPEG4/ISO/AVC",
        codecPrivate,
        width: 320,
        height: 240,
      },
      1_000_000,
    ),
    {
      id: 3,
      kind: "video",
      codecId: "V_MPEG4/ISO/AVC",
      codecPrivate,
      width: 320,
      height: 240,
      sampleRate: undefined,
      channels: undefined,
      language: undefined,
      timescale: 90000,
    },
  );
  assertEquals(toMp4Track({ number: 1, kind: "video", codecId: "V_VP8" }, 1_000_000), undefined);
  assertEquals(toMp4Track({ number: 2, kind: "audio", codecId: "A_VORBIS" }, 1_000_000), undefined);
  assertEquals(
    toMp4Track({ number: 4, kind: "subtitle", codecId: "S_TEXT/UTF8" }, 1_000_000),
    undefined,
  );
});
