/**
 * The reorder depth a video stream declares, read from the sequence parameter set in its
 * CodecPrivate: H.264 `max_num_reorder_frames` (ITU-T H.264, §E.1.1) or HEVC
 * `sps_max_num_reorder_pics` (ITU-T H.265, §7.3.2.2). `DtsEstimator` needs it to give DTS with
 * no delay; encoders declare it (x264 writes 2 for `-bf 2` with its default B-pyramid, even when
 * a GOP reorders only one frame deep), and ffmpeg derives its DTS from the same field.
 *
 * @module
 */

/** Reads bits, most significant first, from a NAL unit's payload with emulation prevention removed. */
class BitReader {
  #bytes: Uint8Array;
  #pos = 0;

  constructor(nal: Uint8Array) {
    // Drop each 0x03 that follows two zero bytes (emulation_prevention_three_byte, H.264 §7.4.1).
    const out = new Uint8Array(nal.length);
    let n = 0;
    let zeros = 0;
    for (const b of nal) {
      if (zeros >= 2 && b === 3) {
        zeros = 0;
        continue;
      }
      zeros = b === 0 ? zeros + 1 : 0;
      out[n++] = b;
    }
    this.#bytes = out.subarray(0, n);
  }

  bit(): number {
    const byte = this.#bytes[this.#pos >> 3];
    if (byte === undefined) throw new RangeError("Parameter set ends too early");
    return (byte >> (7 - (this.#pos++ & 7))) & 1;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  skip(n: number): void {
    this.#pos += n;
  }

  /** Unsigned Exp-Golomb (H.264 §9.1). */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError("Exp-Golomb code too long");
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** Signed Exp-Golomb (H.264 §9.1.1). */
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** H.264 profiles whose SPS has chroma format and scaling matrices (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipHrd(r: BitReader): void {
  const count = r.ue() + 1;
  r.skip(8);
  for (let i = 0; i < count; i++) {
    r.ue();
    r.ue();
    r.skip(1);
  }
  r.skip(20);
}

/** `max_num_reorder_frames` of an H.264 SPS NAL unit, or `undefined` when it does not say. */
function readAvcSps(nal: Uint8Array): number | undefined {
  const r = new BitReader(nal.subarray(1));
  const profile = r.bits(8);
  const constraints = r.bits(8);
  r.skip(8);
  r.ue();
  if (HIGH_PROFILES.has(profile)) {
    const chroma = r.ue();
    if (chroma === 3) r.skip(1);
    r.ue();
    r.ue();
    r.skip(1);
    if (r.bit()) {
      for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
        if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue();
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    for (let n = r.ue(); n > 0; n--) r.se();
  }
  r.ue();
  r.skip(1);
  r.ue();
  r.ue();
  if (!r.bit()) r.skip(1);
  r.skip(1);
  if (r.bit()) { for (let i = 0; i < 4; i++) r.ue(); }
  // Baseline and intra-only streams cannot reorder; others say so in the VUI or leave it open.
  const noReorder = profile === 66 ||
    ((constraints & 0x10) !== 0 && [44, 86, 100, 110, 122, 244].includes(profile));
  if (!r.bit()) return noReorder ? 0 : undefined;
  if (r.bit() && r.bits(8) === 255) r.skip(32);
  if (r.bit()) r.skip(1);
  if (r.bit()) {
    r.skip(4);
    if (r.bit()) r.skip(24);
  }
  if (r.bit()) {
    r.ue();
    r.ue();
  }
  if (r.bit()) r.skip(65);
  const nalHrd = r.bit();
  if (nalHrd) skipHrd(r);
  const vclHrd = r.bit();
  if (vclHrd) skipHrd(r);
  if (nalHrd || vclHrd) r.skip(1);
  r.skip(1);
  if (!r.bit()) return noReorder ? 0 : undefined;
  r.skip(1);
  for (let i = 0; i < 4; i++) r.ue();
  return r.ue();
}

/** `sps_max_num_reorder_pics` of the highest sub-layer of an HEVC SPS NAL unit. */
function readHevcSps(nal: Uint8Array): number {
  const r = new BitReader(nal.subarray(2));
  r.skip(4);
  const subLayers = r.bits(3);
  r.skip(1 + 96); // temporal_id_nesting, general profile_tier_level (§7.3.3)
  const present: [number, number][] = [];
  for (let i = 0; i < subLayers; i++) present.push([r.bit(), r.bit()]);
  if (subLayers > 0) r.skip(2 * (8 - subLayers));
  for (const [profile, level] of present) r.skip((profile ? 88 : 0) + (level ? 8 : 0));
  r.ue();
  if (r.ue() === 3) r.skip(1);
  r.ue();
  r.ue();
  if (r.bit()) { for (let i = 0; i < 4; i++) r.ue(); }
  r.ue();
  r.ue();
  r.ue();
  const all = r.bit();
  let reorder = 0;
  for (let i = all ? 0 : subLayers; i <= subLayers; i++) {
    r.ue();
    reorder = r.ue();
    r.ue();
  }
  return reorder;
}

/** The parameter sets of NAL type `type` in an hvcC's arrays (ISO/IEC 14496-15, §8.3.3.1). */
function hvcCNalUnits(hvcC: Uint8Array, type: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 23;
  for (let a = 0; a < hvcC[22]; a++) {
    const arrayType = hvcC[pos] & 0x3f;
    const count = (hvcC[pos + 1] << 8) | hvcC[pos + 2];
    pos += 3;
    for (let k = 0; k < count; k++) {
      const length = (hvcC[pos] << 8) | hvcC[pos + 1];
      if (arrayType === type) out.push(hvcC.subarray(pos + 2, pos + 2 + length));
      pos += 2 + length;
    }
  }
  return out;
}

/**
 * The reorder depth declared in an H.264 `avcC` or HEVC `hvcC` (CodecPrivate), or `undefined`
 * when the parameter set leaves it open (H.264 without `bitstream_restriction`), the codec has
 * no such field here, or the record cannot be read. AV1 and VP9 samples are in presentation
 * order already: 0.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readReorderDepth } from "./reorder_depth.ts";
 * assertEquals(readReorderDepth({ codecId: "V_VP9" }), 0);
 * ```
 */
export function readReorderDepth(
  track: { codecId: string; codecPrivate?: Uint8Array },
): number | undefined {
  const cp = track.codecPrivate;
  try {
    if (track.codecId === "V_AV1" || track.codecId === "V_VP9" || track.codecId === "V_VP8") {
      return 0;
    }
    if (cp === undefined) return undefined;
    if (track.codecId === "V_MPEG4/ISO/AVC") {
      if (cp.length < 8 || (cp[5] & 0x1f) === 0) return undefined;
      const length = (cp[6] << 8) | cp[7];
      return readAvcSps(cp.subarray(8, 8 + length));
    }
    if (track.codecId === "V_MPEGH/ISO/HEVC") {
      const [sps] = hvcCNalUnits(cp, 33);
      return sps === undefined ? undefined : readHevcSps(sps);
    }
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return undefined;
}
