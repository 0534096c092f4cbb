/**
 * CMAF chunks: `moof` + `mdat` for a run of samples of one track (ISO/IEC 14496-12, §8.8;
 * ISO/IEC 23000-19, §7.3.2.3). A chunk may start anywhere, not only at a keyframe, so that an
 * LL-HLS part is one chunk written as soon as its samples have arrived.
 *
 * @module
 */

import { writeFourCc } from "./boxes.ts";
import type { Mp4Sample, Mp4Track } from "./mp4_track.ts";

/**
 * Sample flags (§8.8.3.1): a sync sample depends on no other (`sample_depends_on` 2); any other
 * depends on others (1) and is marked `sample_is_non_sync_sample`, which is what MSE and hls.js
 * read to find random access points.
 */
export const SYNC_SAMPLE_FLAGS = 0x0200_0000;
export const NON_SYNC_SAMPLE_FLAGS = 0x0101_0000;

// tfhd flags (§8.8.7.1) and trun flags (§8.8.8.1).
const DEFAULT_BASE_IS_MOOF = 0x02_0000;
const DEFAULT_DURATION_PRESENT = 0x08;
const DEFAULT_FLAGS_PRESENT = 0x20;
const DATA_OFFSET_PRESENT = 0x01;
const FIRST_SAMPLE_FLAGS_PRESENT = 0x04;
const SAMPLE_DURATION_PRESENT = 0x100;
const SAMPLE_SIZE_PRESENT = 0x200;
const SAMPLE_FLAGS_PRESENT = 0x400;
const SAMPLE_CTO_PRESENT = 0x800;

/** Options of `writeFragment`. */
export interface FragmentOptions {
  /** The `mfhd` sequence_number: 1 for the first fragment of a track, then increasing. */
  sequence: number;
}

/** What `writeFragment` works out per sample before writing: sizes, durations and offsets. */
interface Layout {
  sizes: number[];
  durations: number[];
  offsets: number[] | undefined;
  payload: number;
}

function layOut(samples: readonly Mp4Sample[]): Layout {
  const n = samples.length;
  const sizes = new Array<number>(n);
  const durations = new Array<number>(n);
  let offsets: number[] | undefined;
  let payload = 0;
  for (let i = 0; i < n; i++) {
    const s = samples[i];
    const dts = s.dts ?? s.pts;
    const next = samples[i + 1];
    const duration = next === undefined ? s.duration : (next.dts ?? next.pts) - dts;
    if (!Number.isSafeInteger(dts) || dts < 0 || !Number.isSafeInteger(s.pts)) {
      throw new RangeError(`Sample ${i} times must be integers, DTS at least 0: ${dts}, ${s.pts}`);
    }
    if (!(duration >= 0 && duration <= 0xffff_ffff && Number.isInteger(duration))) {
      throw new RangeError(
        `Sample ${i} duration out of range (DTS must not decrease): ${duration}`,
      );
    }
    const offset = s.pts - dts;
    if (offset !== 0) {
      if (offset < -0x8000_0000 || offset > 0x7fff_ffff) {
        throw new RangeError(`Sample ${i} composition offset out of range: ${offset}`);
      }
      offsets ??= new Array<number>(n).fill(0);
      offsets[i] = offset;
    }
    let size = 0;
    if (s.data instanceof Uint8Array) size = s.data.length;
    else for (const part of s.data) size += part.length;
    sizes[i] = size;
    durations[i] = duration;
    payload += size;
  }
  return { sizes, durations, offsets, payload };
}

/**
 * One chunk: `moof` (`mfhd`, `traf` (`tfhd`, `tfdt`, `trun`)) and `mdat`, as a parts list whose
 * first element is the header (moof and the mdat header, in one small array) and the rest are
 * the samples' own views, never copied.
 *
 * - `tfhd` sets default-base-is-moof (CMAF §7.5.16), so the chunk is self-contained.
 * - `tfdt` (version 1, 64-bit) is the first sample's DTS: at 90 kHz, 32 bits wrap in 13 hours.
 * - Durations: each sample lasts until the next one's DTS; the last uses its own `duration`.
 * - `trun` is version 1 (signed composition offsets, CTS − DTS) when any sample has one.
 * - Flags and durations shared by the samples go into `tfhd` defaults; a keyframe followed by
 *   non-sync samples uses `first_sample_flags`.
 *
 * @throws {RangeError} on no samples, negative or non-integer times, a DTS that goes back, or a
 * field that does not fit its box
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeFragment } from "./fragment.ts";
 * const frame = new Uint8Array(1000);
 * const parts = writeFragment({ id: 1 }, [{ data: frame, pts: 0, duration: 960, keyframe: true }], { sequence: 1 });
 * assertEquals(parts[1], frame); // the payload view itself
 * ```
 */
export function writeFragment(
  track: Pick<Mp4Track, "id">,
  samples: readonly Mp4Sample[],
  options: FragmentOptions,
): Uint8Array[] {
  const n = samples.length;
  if (n === 0) throw new RangeError("A fragment needs at least one sample");
  if (
    !Number.isInteger(options.sequence) || options.sequence < 0 || options.sequence > 0xffff_ffff
  ) {
    throw new RangeError(`Fragment sequence number out of range: ${options.sequence}`);
  }
  const { sizes, durations, offsets, payload } = layOut(samples);
  const flagsOf = (s: Mp4Sample) => s.keyframe ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS;
  const restFlags = flagsOf(samples[n > 1 ? 1 : 0]);
  const restSame = samples.every((s, i) => i === 0 || flagsOf(s) === restFlags);
  const firstFlags = restSame && flagsOf(samples[0]) !== restFlags;
  const perSampleFlags = !restSame;
  const sameDuration = durations.every((d) => d === durations[0]);

  let tfhdFlags = DEFAULT_BASE_IS_MOOF;
  if (sameDuration) tfhdFlags |= DEFAULT_DURATION_PRESENT;
  if (!perSampleFlags) tfhdFlags |= DEFAULT_FLAGS_PRESENT;
  let trunFlags = DATA_OFFSET_PRESENT | SAMPLE_SIZE_PRESENT;
  if (firstFlags) trunFlags |= FIRST_SAMPLE_FLAGS_PRESENT;
  if (!sameDuration) trunFlags |= SAMPLE_DURATION_PRESENT;
  if (perSampleFlags) trunFlags |= SAMPLE_FLAGS_PRESENT;
  if (offsets) trunFlags |= SAMPLE_CTO_PRESENT;
  const perSample = 4 * (1 + (sameDuration ? 0 : 1) + (perSampleFlags ? 1 : 0) + (offsets ? 1 : 0));

  const tfhdSize = 16 + (sameDuration ? 4 : 0) + (perSampleFlags ? 0 : 4);
  const trunSize = 20 + (firstFlags ? 4 : 0) + n * perSample;
  const trafSize = 8 + tfhdSize + 20 + trunSize;
  const moofSize = 8 + 16 + trafSize;
  const large = payload + 8 > 0xffff_ffff;
  const mdatHeader = large ? 16 : 8;
  const header = new Uint8Array(moofSize + mdatHeader);
  const view = new DataView(header.buffer);
  let pos = 0;
  const u32 = (v: number) => {
    view.setUint32(pos, v);
    pos += 4;
  };
  const box = (size: number, type: string) => {
    u32(size);
    header.set(writeFourCc(type), pos);
    pos += 4;
  };
  box(moofSize, "moof");
  box(16, "mfhd");
  u32(0);
  u32(options.sequence);
  box(trafSize, "traf");
  box(tfhdSize, "tfhd");
  u32(tfhdFlags);
  u32(track.id);
  if (sameDuration) u32(durations[0]);
  if (!perSampleFlags) u32(restFlags);
  box(20, "tfdt");
  u32(0x0100_0000); // version 1, flags 0
  view.setBigUint64(pos, BigInt(samples[0].dts ?? samples[0].pts));
  pos += 8;
  box(trunSize, "trun");
  u32(((offsets ? 1 : 0) << 24) | trunFlags);
  u32(n);
  u32(moofSize + mdatHeader); // data_offset from the moof's first byte (default-base-is-moof)
  if (firstFlags) u32(flagsOf(samples[0]));
  for (let i = 0; i < n; i++) {
    if (!sameDuration) u32(durations[i]);
    u32(sizes[i]);
    if (perSampleFlags) u32(flagsOf(samples[i]));
    if (offsets) {
      view.setInt32(pos, offsets[i]);
      pos += 4;
    }
  }
  if (large) {
    box(1, "mdat");
    view.setBigUint64(pos, BigInt(payload + 16));
  } else {
    box(payload + 8, "mdat");
  }
  const parts: Uint8Array[] = [header];
  for (const s of samples) {
    if (s.data instanceof Uint8Array) parts.push(s.data);
    else parts.push(...s.data);
  }
  return parts;
}
