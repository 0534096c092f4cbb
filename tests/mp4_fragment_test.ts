// CMAF chunks (moof + mdat) against bytes derived by hand from ISO/IEC 14496-12 §8.8.
import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, writeFragment } from "../lib/mp4/fragment.ts";
import type { Mp4Sample } from "../lib/mp4/mp4_track.ts";
import { bytesOf, children } from "./_mp4.ts";

const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

Deno.test("writeFragment writes moof + mdat header for one audio sample, beside its payload view", () => {
  const data = new Uint8Array([0xaa, 0xbb, 0xcc]);
  const parts = writeFragment({ id: 1 }, [{ data, pts: 1000, duration: 960, keyframe: true }], {
    sequence: 7,
  });
  assertEquals(parts.length, 2);
  assertStrictEquals(parts[1], data, "the payload is the caller's view, not a copy");
  assertEquals(
    parts[0],
    bytesOf(
      ...u32(100),
      "moof",
      ...u32(16),
      "mfhd",
      ...u32(0),
      ...u32(7),
      ...u32(76),
      "traf",
      ...u32(24),
      "tfhd",
      ...u32(0x020028), // default-base-is-moof | default duration | default flags
      ...u32(1),
      ...u32(960),
      ...u32(SYNC_SAMPLE_FLAGS),
      ...u32(20),
      "tfdt",
      ...u32(0x01000000), // version 1: 64-bit time
      ...u32(0),
      ...u32(1000),
      ...u32(24),
      "trun",
      ...u32(0x000201), // data offset | sample size
      ...u32(1),
      ...u32(108), // moof (100) + mdat header (8)
      ...u32(3),
      ...u32(11),
      "mdat",
    ),
  );
});

Deno.test("writeFragment writes a keyframe with first_sample_flags and B-frame offsets in trun v1", () => {
  // Decode order I P B: PTS 2 5 3 (frame units of 10), DTS 0 1 2; the last lasts 1 frame.
  const samples: Mp4Sample[] = [
    { data: new Uint8Array(5), pts: 20, dts: 0, duration: 10, keyframe: true },
    { data: new Uint8Array(6), pts: 50, dts: 10, duration: 10, keyframe: false },
    {
      data: [new Uint8Array(1), new Uint8Array(2)],
      pts: 30,
      dts: 20,
      duration: 10,
      keyframe: false,
    },
  ];
  const parts = writeFragment({ id: 3 }, samples, { sequence: 1 });
  assertEquals(parts.length, 5, "header + 4 views (the third sample has two)");
  const [moof, mdat] = children(parts[0]);
  const traf = children(moof.box.subarray(16 + 8))[0];
  const [tfhd, tfdt, trun] = children(traf.box.subarray(8));
  assertEquals(
    tfhd.box,
    bytesOf(
      ...u32(24),
      "tfhd",
      ...u32(0x020028),
      ...u32(3),
      ...u32(10),
      ...u32(NON_SYNC_SAMPLE_FLAGS),
    ),
  );
  assertEquals(tfdt.box, bytesOf(...u32(20), "tfdt", ...u32(0x01000000), ...u32(0), ...u32(0)));
  const dataOffset = moof.box.length + 8;
  assertEquals(
    trun.box,
    bytesOf(
      ...u32(20 + 4 + 3 * 8),
      "trun",
      ...u32(0x01000a05), // version 1 | data offset, first flags, size, composition offset
      ...u32(3),
      ...u32(dataOffset),
      ...u32(SYNC_SAMPLE_FLAGS),
      ...[...u32(5), ...u32(20)],
      ...[...u32(6), ...u32(40)],
      ...[...u32(3), ...u32(10)],
    ),
  );
  assertEquals(mdat.box, bytesOf(...u32(8 + 14), "mdat"));
});

Deno.test("writeFragment gives each sample the next one's DTS gap, the last its own duration", () => {
  // Audio from millisecond times at 48 kHz: gaps of 1008 and 1056, a last frame of 1024.
  const samples: Mp4Sample[] = [0, 1008, 2064].map((pts) => ({
    data: new Uint8Array(1),
    pts,
    duration: 1024,
    keyframe: true,
  }));
  const [header] = writeFragment({ id: 1 }, samples, { sequence: 1 });
  const trun = children(children(children(header)[0].box.subarray(24))[0].box.subarray(8))[2].box;
  assertEquals(
    trun,
    bytesOf(
      ...u32(20 + 3 * 8),
      "trun",
      ...u32(0x000301), // version 0 | data offset, duration, size; flags from tfhd
      ...u32(3),
      ...u32(header.length),
      ...[...u32(1008), ...u32(1)],
      ...[...u32(1056), ...u32(1)],
      ...[...u32(1024), ...u32(1)],
    ),
  );
});

Deno.test("writeFragment writes per-sample flags when a keyframe is not first, and negative offsets", () => {
  const samples: Mp4Sample[] = [
    { data: new Uint8Array(1), pts: 9, dts: 10, duration: 1, keyframe: false },
    { data: new Uint8Array(1), pts: 11, dts: 11, duration: 1, keyframe: true },
    { data: new Uint8Array(1), pts: 12, dts: 12, duration: 1, keyframe: false },
  ];
  const [header] = writeFragment({ id: 1 }, samples, { sequence: 2 });
  const trun = children(children(children(header)[0].box.subarray(24))[0].box.subarray(8))[2].box;
  assertEquals(
    trun,
    bytesOf(
      ...u32(20 + 3 * 12),
      "trun",
      ...u32(0x01000e01), // version 1 | data offset, size, flags, composition offset
      ...u32(3),
      ...u32(header.length),
      ...[...u32(1), ...u32(NON_SYNC_SAMPLE_FLAGS), 0xff, 0xff, 0xff, 0xff],
      ...[...u32(1), ...u32(SYNC_SAMPLE_FLAGS), ...u32(0)],
      ...[...u32(1), ...u32(NON_SYNC_SAMPLE_FLAGS), ...u32(0)],
    ),
  );
});

Deno.test("writeFragment writes tfdt beyond 32 bits and refuses what its boxes cannot hold", () => {
  const late = 2 ** 40 + 1;
  const [header] = writeFragment({ id: 1 }, [{
    data: new Uint8Array(1),
    pts: late,
    duration: 1,
    keyframe: true,
  }], {
    sequence: 1,
  });
  const tfdt = new DataView(header.buffer, 8 + 16 + 8 + 24, 20);
  assertEquals(tfdt.getBigUint64(12), BigInt(late));
  const one = (s: Partial<Mp4Sample>): Mp4Sample => ({
    data: new Uint8Array(1),
    pts: 0,
    duration: 1,
    keyframe: true,
    ...s,
  });
  const write = (samples: Mp4Sample[]) => () => writeFragment({ id: 1 }, samples, { sequence: 1 });
  assertThrows(write([]), RangeError, "at least one sample");
  assertThrows(
    write([one({ pts: 10, dts: 10 }), one({ pts: 12, dts: 9 })]),
    RangeError,
    "DTS must not decrease",
  );
  assertThrows(write([one({ pts: -1 })]), RangeError);
  assertThrows(write([one({ pts: 1.5 })]), RangeError);
  assertThrows(write([one({ pts: 2 ** 32, dts: 0 })]), RangeError, "composition offset");
  assertThrows(() => writeFragment({ id: 1 }, [one({})], { sequence: -1 }), RangeError);
});
