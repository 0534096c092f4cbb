/**
 * Decoder configuration boxes from Matroska CodecPrivate (the mappings of the Matroska codec
 * specifications, `codec_specs.md`, on one side; each codec's ISO BMFF binding on the other).
 *
 * H.264, HEVC and AV1 keep their configuration records verbatim in CodecPrivate; Opus, AAC,
 * FLAC and VP9 need a rewrite. Malformed CodecPrivate throws `TypeError`: it is a property of
 * the track, refused before any sample is written.
 *
 * @module
 */

import { Fields, writeBox, writeFullBox } from "./boxes.ts";
import type { Mp4Track } from "./mp4_track.ts";

function need(track: Mp4Track, minLength: number): Uint8Array {
  const cp = track.codecPrivate;
  if (cp === undefined || cp.length < minLength) {
    throw new TypeError(
      `${track.codecId} needs a CodecPrivate of at least ${minLength} bytes: got ${
        cp?.length ?? 0
      }`,
    );
  }
  return cp;
}

/** `avcC`: CodecPrivate is the AVCDecoderConfigurationRecord (ISO/IEC 14496-15, §5.3.3.1). */
export function writeAvcC(track: Mp4Track): Uint8Array {
  const cp = need(track, 7);
  if (cp[0] !== 1) throw new TypeError(`avcC configurationVersion must be 1: got ${cp[0]}`);
  return writeBox("avcC", cp);
}

/** `hvcC`: CodecPrivate is the HEVCDecoderConfigurationRecord (ISO/IEC 14496-15, §8.3.3.1). */
export function writeHvcC(track: Mp4Track): Uint8Array {
  const cp = need(track, 23);
  if (cp[0] !== 1) throw new TypeError(`hvcC configurationVersion must be 1: got ${cp[0]}`);
  return writeBox("hvcC", cp);
}

/** `av1C`: CodecPrivate is the AV1CodecConfigurationRecord (AV1-ISOBMFF, §2.3.3). */
export function writeAv1C(track: Mp4Track): Uint8Array {
  const cp = need(track, 4);
  if (cp[0] !== 0x81) {
    throw new TypeError(`av1C must start with marker and version 1: got ${cp[0]}`);
  }
  return writeBox("av1C", cp);
}

/** What a `vpcC` holds (VP codec ISO BMFF binding, §2.2). */
export interface Vp9Config {
  profile: number;
  level: number;
  bitDepth: number;
  chromaSubsampling: number;
  fullRange: boolean;
  colourPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
}

/** VP9 levels by the largest picture size in luma samples (VP9 levels table, webmproject.org). */
const VP9_LEVELS: readonly [number, number][] = [
  [36_864, 10],
  [73_728, 11],
  [122_880, 20],
  [245_760, 21],
  [552_960, 30],
  [983_040, 31],
  [2_228_224, 40],
  [8_912_896, 50],
  [35_651_584, 60],
];

/**
 * The VP9 configuration: the CodecPrivate feature list when present (Matroska codec_specs.md,
 * `V_VP9`: ID 1 profile, 2 level, 3 bit depth, 4 chroma subsampling; each ID, length 1, value),
 * else profile 0, 8 bits, 4:2:0 colocated (libvpx's default), and a level from the picture size.
 * Colour is BT.709 limited range, the binding's defaults for the codecs string.
 */
export function readVp9Config(track: Mp4Track): Vp9Config {
  const area = (track.width ?? 0) * (track.height ?? 0);
  const config: Vp9Config = {
    profile: 0,
    level: VP9_LEVELS.find(([max]) => area <= max)?.[1] ?? 62,
    bitDepth: 8,
    chromaSubsampling: 1,
    fullRange: false,
    colourPrimaries: 1,
    transferCharacteristics: 1,
    matrixCoefficients: 1,
  };
  const cp = track.codecPrivate ?? new Uint8Array();
  for (let pos = 0; pos < cp.length;) {
    const id = cp[pos];
    const length = cp[pos + 1];
    if (length === undefined || pos + 2 + length > cp.length) {
      throw new TypeError(`V_VP9 CodecPrivate feature ${id} is truncated at byte ${pos}`);
    }
    const value = length === 1 ? cp[pos + 2] : undefined;
    if (value !== undefined) {
      if (id === 1) config.profile = value;
      else if (id === 2) config.level = value;
      else if (id === 3) config.bitDepth = value;
      else if (id === 4) config.chromaSubsampling = value;
    }
    pos += 2 + length;
  }
  return config;
}

/** `vpcC` version 1 (VP codec ISO BMFF binding, §2.2), with no codec initialization data. */
export function writeVpcC(track: Mp4Track): Uint8Array {
  const c = readVp9Config(track);
  const body = new Fields()
    .u8(c.profile)
    .u8(c.level)
    .u8((c.bitDepth << 4) | (c.chromaSubsampling << 1) | (c.fullRange ? 1 : 0))
    .u8(c.colourPrimaries)
    .u8(c.transferCharacteristics)
    .u8(c.matrixCoefficients)
    .u16(0);
  return writeFullBox("vpcC", 1, 0, body.bytes());
}

/**
 * `dOps` from OpusHead (RFC 7845, §5.1). The fields are the same, but dOps (Encapsulation of
 * Opus in ISO BMFF, §4.3.2) drops the "OpusHead" magic, has Version 0 instead of 1, and is
 * big-endian where OpusHead is little-endian.
 */
export function writeDOps(track: Mp4Track): Uint8Array {
  const cp = need(track, 19);
  if (new TextDecoder().decode(cp.subarray(0, 8)) !== "OpusHead") {
    throw new TypeError("A_OPUS CodecPrivate must start with OpusHead");
  }
  const head = new DataView(cp.buffer, cp.byteOffset, cp.byteLength);
  const channels = cp[9];
  const family = cp[18];
  const body = new Fields()
    .u8(0)
    .u8(channels)
    .u16(head.getUint16(10, true))
    .u32(head.getUint32(12, true))
    .i16(head.getInt16(16, true))
    .u8(family);
  if (family !== 0) {
    // Stream count, coupled count, then one mapping byte per output channel (RFC 7845, §5.1.1).
    if (cp.length < 21 + channels) {
      throw new TypeError(`OpusHead channel mapping table is truncated: ${cp.length} bytes`);
    }
    body.raw(cp.subarray(19, 21 + channels));
  }
  return writeBox("dOps", body.bytes());
}

/** AAC sampling frequency indices (ISO/IEC 14496-3, §1.6.3.4, Table 1.18). */
const AAC_RATES = [
  96000,
  88200,
  64000,
  48000,
  44100,
  32000,
  24000,
  22050,
  16000,
  12000,
  11025,
  8000,
  7350,
];

/** Audio object types of the legacy `A_AAC/MPEG{2,4}/<profile>` CodecIDs, which have no CodecPrivate. */
const AAC_PROFILES: Record<string, number> = { MAIN: 1, LC: 2, SSR: 3, LTP: 4, SBR: 2 };

/**
 * The AudioSpecificConfig: CodecPrivate for `A_AAC`; for the legacy CodecIDs, two bytes built
 * from the profile in the ID, the sample rate and the channel count (ISO/IEC 14496-3, §1.6.2.1).
 * For `…/SBR` the core rate is half the output rate (implicit SBR signalling).
 */
export function readAudioSpecificConfig(track: Mp4Track): Uint8Array {
  if (track.codecPrivate !== undefined && track.codecPrivate.length >= 2) return track.codecPrivate;
  const profile = track.codecId.split("/").pop() ?? "";
  const objectType = AAC_PROFILES[profile];
  const sbr = profile === "SBR";
  const rate = sbr ? (track.sampleRate ?? 0) / 2 : track.sampleRate;
  const index = AAC_RATES.indexOf(rate ?? 0);
  const channels = track.channels ?? 0;
  if (objectType === undefined || index < 0 || channels < 1 || channels > 7) {
    throw new TypeError(
      `${track.codecId} needs an AudioSpecificConfig: none given and none can be built for ${rate} Hz, ${channels} channels`,
    );
  }
  return new Uint8Array([(objectType << 3) | (index >> 1), ((index & 1) << 7) | (channels << 3)]);
}

/** An MPEG-4 descriptor: tag, size in the 7-bits-per-byte expandable form (ISO/IEC 14496-1, §8.3.3). */
function descriptor(tag: number, ...payload: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of payload) size += p.length;
  const sizeBytes: number[] = [size & 0x7f];
  for (let rest = size >> 7; rest > 0; rest >>= 7) sizeBytes.unshift(0x80 | (rest & 0x7f));
  const out = new Fields().u8(tag).raw(new Uint8Array(sizeBytes));
  for (const p of payload) out.raw(p);
  return out.bytes();
}

/**
 * `esds` (ISO/IEC 14496-14, §5.6): an ES_Descriptor holding a DecoderConfigDescriptor for
 * MPEG-4 audio (objectTypeIndication 0x40, streamType 5) whose DecoderSpecificInfo is the
 * AudioSpecificConfig, and the SLConfigDescriptor that MP4 requires (predefined 2).
 */
export function writeEsds(track: Mp4Track): Uint8Array {
  const asc = readAudioSpecificConfig(track);
  const decoderConfig = descriptor(
    0x04,
    new Fields().u8(0x40).u8((5 << 2) | 1).u24(0).u32(0).u32(0).bytes(),
    descriptor(0x05, asc),
  );
  const es = descriptor(
    0x03,
    new Fields().u16(track.id & 0xffff).u8(0).bytes(),
    decoderConfig,
    descriptor(0x06, new Uint8Array([0x02])),
  );
  return writeFullBox("esds", 0, 0, es);
}

/** FLAC metadata block types (RFC 9639, §8.1). */
const FLAC_STREAMINFO = 0;
const FLAC_PADDING = 1;

/**
 * `dfLa` (FLAC in ISO BMFF, §3.3.2): the metadata blocks of CodecPrivate ("fLaC" + blocks,
 * RFC 9639 §10.2) without the marker. STREAMINFO must come first; PADDING is dropped (it is only
 * room for a later in-place edit), and the last block kept gets the last-metadata-block flag.
 */
export function writeDfLa(track: Mp4Track): Uint8Array {
  const cp = need(track, 4 + 4 + 34);
  if (new TextDecoder().decode(cp.subarray(0, 4)) !== "fLaC") {
    throw new TypeError("A_FLAC CodecPrivate must start with fLaC");
  }
  const blocks: Uint8Array[] = [];
  for (let pos = 4; pos < cp.length;) {
    if (pos + 4 > cp.length) {
      throw new TypeError(`FLAC metadata block header truncated at byte ${pos}`);
    }
    const type = cp[pos] & 0x7f;
    const end = pos + 4 + ((cp[pos + 1] << 16) | (cp[pos + 2] << 8) | cp[pos + 3]);
    if (end > cp.length) {
      throw new TypeError(`FLAC metadata block overruns CodecPrivate at byte ${pos}`);
    }
    if (blocks.length === 0 && type !== FLAC_STREAMINFO) {
      throw new TypeError("FLAC CodecPrivate must begin with STREAMINFO");
    }
    if (type !== FLAC_PADDING) blocks.push(cp.slice(pos, end));
    if (cp[pos] & 0x80) break;
    pos = end;
  }
  blocks.forEach((b, i) => b[0] = (b[0] & 0x7f) | (i === blocks.length - 1 ? 0x80 : 0));
  return writeFullBox("dfLa", 0, 0, ...blocks);
}
