/**
 * The parser fuzz harness: mutates Matroska fixtures and runs each result through
 * `EbmlReader` → `MatroskaDemuxer` → `GopSegmenter` in random chunks. Pure: no `Deno.*`, so the
 * CLI (`bench/fuzz.ts`) and the CI batch (`tests/fuzz_test.ts`) share it.
 *
 * An input may only end in one of the documented typed errors (`EbmlSyntaxError`, `RangeError`
 * for the size cap or an integer beyond 2^53, `TypeError` for a segment that changes the tracks or
 * TimestampScale). Anything else is a bug: another error, too much time, a payload over the cap,
 * output out of proportion to the input, or output that does not parse back to the same blocks.
 *
 * @module
 */

import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { ID } from "../lib/ebml/ids.ts";
import { measureVintLength } from "../lib/ebml/vint.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import type { Block } from "../lib/matroska/block.ts";
import { GopSegmenter } from "../lib/matroska/gop_segmenter.ts";
import {
  BLOCK_PARTS,
  MatroskaDemuxer,
  type MatroskaEvent,
} from "../lib/matroska/matroska_demuxer.ts";

/** The element size cap used while fuzzing: small, so that the cap itself gets exercised. */
export const FUZZ_MAX_ELEMENT_SIZE = 1024 * 1024;

/** Longest time one input may take, in milliseconds. */
export const FUZZ_TIME_LIMIT = 2000;

/**
 * Output (live header and Clusters) may not exceed `2 × input + OUTPUT_SLACK +
 * CLUSTER_OVERHEAD × clusters` bytes. Blocks and header parts are never written larger than
 * they came (sizes are re-encoded in the fewest bytes), but every Cluster adds its own ID, size
 * and Timestamp: a stream of one-frame GOPs of a few bytes each legitimately grows by that much.
 */
export const OUTPUT_SLACK = 4096;

/** The most a Cluster adds: ID (4), size (up to 8), Timestamp element (up to 10). */
export const CLUSTER_OVERHEAD = 22;

/** A deterministic PRNG (mulberry32): floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source with the helpers the mutators need. */
export class Rng {
  #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A length in [1, max], log-uniform: small values as often as large ones. */
  logLength(max: number): number {
    return Math.max(
      1,
      Math.min(max, Math.floor(Math.exp(this.#next() * Math.log(max + 1)))),
    );
  }
}

/** An element header found by `scanElements`. */
export interface ElementHeader {
  id: number;
  offset: number;
  idLength: number;
  sizeLength: number;
  /** Payload size, or -1 when unknown. */
  size: number;
  /** Whether the scan descended into it (a known master). */
  master: boolean;
}

/** Masters the scanner descends into: the parser's own and those it skips or buffers whole. */
const SCAN_MASTERS = new Set<number>([
  ID.EBML,
  ID.Segment,
  ID.SeekHead,
  0x4DBB, // Seek
  ID.Info,
  ID.Tracks,
  ID.TrackEntry,
  ID.Video,
  ID.Audio,
  0x6D80, // ContentEncodings
  ID.Cluster,
  ID.BlockGroup,
  ID.BlockAdditions,
  ID.Cues,
  0xBB, // CuePoint
  0xB7, // CueTrackPositions
  ID.Tags,
  0x7373, // Tag
  0x63C0, // Targets
  0x67C8, // SimpleTag
  ID.Chapters,
  ID.Attachments,
]);

/**
 * Lists the element headers of `bytes` in file order, descending into known masters. Stops
 * quietly at the first header it cannot read: mutated input is scanned too.
 */
export function scanElements(bytes: Uint8Array): ElementHeader[] {
  const out: ElementHeader[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const idLength = measureVintLength(bytes[pos]);
    if (idLength === 0 || idLength > 4 || pos + idLength >= bytes.length) break;
    let id = 0;
    for (let k = 0; k < idLength; k++) id = id * 256 + bytes[pos + k];
    const sizeLength = measureVintLength(bytes[pos + idLength]);
    if (sizeLength === 0 || pos + idLength + sizeLength > bytes.length) break;
    const mask = 0xff >> sizeLength;
    let size = bytes[pos + idLength] & mask;
    let allOnes = size === mask;
    for (let k = 1; k < sizeLength; k++) {
      const b = bytes[pos + idLength + k];
      if (b !== 0xff) allOnes = false;
      size = size * 256 + b;
    }
    const master = SCAN_MASTERS.has(id);
    out.push({
      id,
      offset: pos,
      idLength,
      sizeLength,
      size: allOnes ? -1 : size,
      master,
    });
    const header = idLength + sizeLength;
    if (master) pos += header;
    else if (allOnes) break;
    else pos += header + size;
  }
  return out;
}

/** A fixture prepared for mutation: its bytes and element headers. */
export interface CorpusEntry {
  name: string;
  bytes: Uint8Array;
  elements: ElementHeader[];
}

/** Prepares fixtures for `makeInput`. */
export function makeCorpus(
  files: ReadonlyArray<{ name: string; bytes: Uint8Array }>,
): CorpusEntry[] {
  return files.map((f) => ({ ...f, elements: scanElements(f.bytes) }));
}

/** The whole element (header and payload) at `h`, cut at the end of `bytes`. */
function elementBytes(bytes: Uint8Array, h: ElementHeader): Uint8Array {
  const header = h.idLength + h.sizeLength;
  const length = h.size < 0 ? header + 64 : header + h.size;
  return bytes.subarray(h.offset, Math.min(bytes.length, h.offset + length));
}

/**
 * Replaces `length` bytes at `at` with `piece`, in a copy. With `fix`, the sizes of the known-size
 * masters around the edit grow or shrink to match (when the new size fits their size field), so
 * that the result stays well formed enough to reach the demuxer and the segmenter.
 */
export function replaceBytes(
  bytes: Uint8Array,
  at: number,
  length: number,
  piece: Uint8Array,
  fix = false,
): Uint8Array {
  const end = Math.min(bytes.length, at + length);
  const out = new Uint8Array(bytes.length - (end - at) + piece.length);
  out.set(bytes.subarray(0, at));
  out.set(piece, at);
  out.set(bytes.subarray(end), at + piece.length);
  const delta = piece.length - (end - at);
  if (fix && delta !== 0) {
    for (const h of scanElements(bytes)) {
      if (h.offset >= at) break;
      const payload = h.offset + h.idLength + h.sizeLength;
      if (!h.master || h.size < 0 || payload > at || payload + h.size < end) {
        continue;
      }
      const size = h.size + delta;
      if (size >= 0 && size < 2 ** (7 * h.sizeLength) - 1) {
        setSize(out, h, BigInt(size));
      }
    }
  }
  return out;
}

function insert(
  bytes: Uint8Array,
  at: number,
  piece: Uint8Array,
  fix = false,
): Uint8Array {
  return replaceBytes(bytes, at, 0, piece, fix);
}

function remove(
  bytes: Uint8Array,
  at: number,
  length: number,
  fix = false,
): Uint8Array {
  return replaceBytes(bytes, at, length, new Uint8Array(0), fix);
}

/** Writes `value` into the size field of `h` (same width), in place. */
function setSize(bytes: Uint8Array, h: ElementHeader, value: bigint): void {
  const at = h.offset + h.idLength;
  const width = h.sizeLength;
  let v = value;
  for (let k = width - 1; k > 0; k--) {
    bytes[at + k] = Number(v & 0xffn);
    v >>= 8n;
  }
  bytes[at] = (0x80 >> (width - 1)) | (Number(v) & (0xff >> width));
}

const INTERESTING = [
  0x00,
  0x01,
  0x7f,
  0x80,
  0x81,
  0xfe,
  0xff,
  0x40,
  0x20,
  0x10,
];

/** One mutation: returns new bytes (the input is never changed). */
type Mutator = (
  bytes: Uint8Array,
  rng: Rng,
  corpus: readonly CorpusEntry[],
) => Uint8Array;

/** Picks an element of `bytes`, scanning it; weighted towards headers near the start. */
function pickElement(bytes: Uint8Array, rng: Rng): ElementHeader | undefined {
  const elements = scanElements(bytes);
  if (elements.length === 0) return undefined;
  // Half the time an early element (EBML header, Info, Tracks, first Clusters): they matter most.
  const limit = rng.float() < 0.5 ? Math.min(elements.length, 64) : elements.length;
  return elements[rng.int(limit)];
}

/** The mutators by name. */
export const MUTATORS: Readonly<Record<string, Mutator>> = {
  bitFlip(bytes, rng) {
    const out = bytes.slice();
    const flips = rng.logLength(16);
    for (let k = 0; k < flips && out.length > 0; k++) {
      out[rng.int(out.length)] ^= 1 << rng.int(8);
    }
    return out;
  },
  headerBitFlip(bytes, rng) {
    const out = bytes.slice();
    const h = pickElement(out, rng);
    if (h === undefined) return out;
    const header = h.idLength + h.sizeLength;
    out[h.offset + rng.int(header)] ^= 1 << rng.int(8);
    return out;
  },
  interestingByte(bytes, rng) {
    const out = bytes.slice();
    const n = rng.logLength(8);
    for (let k = 0; k < n && out.length > 0; k++) {
      out[rng.int(out.length)] = rng.pick(INTERESTING);
    }
    return out;
  },
  insertBytes(bytes, rng) {
    const piece = new Uint8Array(rng.logLength(64));
    for (let k = 0; k < piece.length; k++) {
      piece[k] = rng.float() < 0.5 ? rng.int(256) : rng.pick(INTERESTING);
    }
    return insert(bytes, rng.int(bytes.length + 1), piece, rng.float() < 0.5);
  },
  deleteBytes(bytes, rng) {
    if (bytes.length === 0) return bytes.slice();
    const at = rng.int(bytes.length);
    return remove(bytes, at, rng.logLength(4096), rng.float() < 0.5);
  },
  truncate(bytes, rng) {
    return bytes.slice(0, rng.int(bytes.length + 1));
  },
  duplicateRange(bytes, rng) {
    if (bytes.length === 0) return bytes.slice();
    const at = rng.int(bytes.length);
    const piece = bytes.slice(at, at + rng.logLength(8192));
    return insert(bytes, rng.int(bytes.length + 1), piece, rng.float() < 0.5);
  },
  splice(bytes, rng, corpus) {
    // An element of another fixture (or this one), inserted at an element boundary or replacing one.
    const donor = rng.pick(corpus);
    if (donor.elements.length === 0) return bytes.slice();
    const piece = elementBytes(donor.bytes, rng.pick(donor.elements)).slice();
    const h = pickElement(bytes, rng);
    if (h === undefined) return insert(bytes, 0, piece);
    const fix = rng.float() < 0.7;
    if (rng.float() < 0.5) return insert(bytes, h.offset, piece, fix);
    const old = elementBytes(bytes, h).length;
    return replaceBytes(bytes, h.offset, old, piece, fix);
  },
  removeElement(bytes, rng) {
    const h = pickElement(bytes, rng);
    if (h === undefined) return bytes.slice();
    const length = elementBytes(bytes, h).length;
    return remove(bytes, h.offset, length, rng.float() < 0.7);
  },
  duplicateElement(bytes, rng) {
    const h = pickElement(bytes, rng);
    if (h === undefined) return bytes.slice();
    const piece = elementBytes(bytes, h).slice();
    return insert(bytes, h.offset, piece, rng.float() < 0.7);
  },
  sizeHuge(bytes, rng) {
    const out = bytes.slice();
    const h = pickElement(out, rng);
    if (h === undefined) return out;
    // The largest known value of its width, just over the cap, or beyond 2^53 for 8 bytes.
    const max = (1n << BigInt(7 * h.sizeLength)) - 2n;
    const choices = [max, max / 2n, BigInt(FUZZ_MAX_ELEMENT_SIZE) + 1n];
    let value = rng.pick(choices);
    if (value > max) value = max;
    setSize(out, h, value);
    return out;
  },
  sizeUnknown(bytes, rng) {
    const out = bytes.slice();
    const h = pickElement(out, rng);
    if (h === undefined) return out;
    setSize(out, h, (1n << BigInt(7 * h.sizeLength)) - 1n);
    return out;
  },
  sizeSmall(bytes, rng) {
    const out = bytes.slice();
    const h = pickElement(out, rng);
    if (h === undefined) return out;
    const current = h.size < 0 ? 64 : h.size;
    const delta = rng.range(-8, 8);
    setSize(
      out,
      h,
      BigInt(
        Math.max(
          0,
          Math.min(current + delta, 2 ** (7 * Math.min(h.sizeLength, 7)) - 2),
        ),
      ),
    );
    return out;
  },
  repeatElement(bytes, rng) {
    // Many copies of one element: thousands of tiny Clusters, blocks or TrackEntries.
    const h = pickElement(bytes, rng);
    if (h === undefined) return bytes.slice();
    const one = elementBytes(bytes, h);
    const copies = Math.min(
      rng.logLength(4096),
      Math.floor(1_000_000 / (one.length + 1)) + 1,
    );
    const piece = new Uint8Array(one.length * copies);
    for (let k = 0; k < copies; k++) piece.set(one, k * one.length);
    return insert(bytes, h.offset, piece, rng.float() < 0.7);
  },
  concat(bytes, rng, corpus) {
    // A restarted source: another whole file (same tracks or not) after this one.
    const donor = rng.pick(corpus).bytes;
    return insert(bytes, bytes.length, donor);
  },
  sizeWiden(bytes, rng) {
    // Re-encode a size with a different width (valid but unusual; or truncating it).
    const h = pickElement(bytes, rng);
    if (h === undefined) return bytes.slice();
    const width = rng.range(1, 8);
    const value = h.size < 0 ? (1n << BigInt(7 * width)) - 1n : BigInt(h.size);
    const field = new Uint8Array(width);
    const header: ElementHeader = {
      ...h,
      offset: 0,
      idLength: 0,
      sizeLength: width,
    };
    setSize(field, header, value & ((1n << BigInt(7 * width)) - 1n));
    const at = h.offset + h.idLength;
    return replaceBytes(bytes, at, h.sizeLength, field, rng.float() < 0.7);
  },
};

const MUTATOR_NAMES = Object.keys(MUTATORS);

/** A generated input: its bytes and the mutations that made it. */
export interface FuzzInput {
  bytes: Uint8Array;
  /** Fixture name and mutator names, e.g. `sample.webm: bitFlip, splice`. */
  description: string;
}

/**
 * Makes input number `seed`: a fixture (sometimes cut to a prefix, to keep inputs fast) with one
 * to four stacked mutations. The same seed and corpus always give the same bytes.
 */
export function makeInput(
  corpus: readonly CorpusEntry[],
  seed: number,
): FuzzInput {
  const rng = new Rng(seed ^ 0x5EED);
  const base = rng.pick(corpus);
  let bytes = base.bytes;
  const steps: string[] = [];
  if (rng.float() < 0.5) {
    // A prefix ending somewhere after the header: most of the interesting code is near the start.
    bytes = bytes.subarray(
      0,
      rng.range(Math.min(bytes.length, 4096), bytes.length),
    );
  }
  // Mostly one mutation, so that inputs often get deep into the file; sometimes a pile of them.
  const count = rng.float() < 0.6 ? 1 : rng.range(2, 4);
  for (let k = 0; k < count; k++) {
    const name = rng.pick(MUTATOR_NAMES);
    bytes = MUTATORS[name](bytes, rng, corpus);
    steps.push(name);
  }
  return { bytes, description: `${base.name}: ${steps.join(", ")}` };
}

/** How one input ended. */
export type FuzzResult =
  | { kind: "ok"; blocks: number; outputBytes: number }
  | {
    kind: "typed";
    error: "EbmlSyntaxError" | "RangeError" | "TypeError";
    message: string;
  }
  | { kind: "bug"; reason: string; error?: unknown };

/** RangeError messages the parser documents: the size cap and integers beyond 2^53. */
const DOCUMENTED_RANGE =
  /too large to buffer|(Vint value|Unsigned integer|Block timestamp) too large/;
/** TypeError messages the demuxer documents. */
const DOCUMENTED_TYPE = /^New segment changes the (tracks|TimestampScale)/;

/** Raised inside the pipeline when an invariant fails; always reported as a bug. */
class FuzzBug extends Error {}

/** Sorts a thrown value into a documented typed error or a bug. */
export function classify(error: unknown, inputLength: number): FuzzResult {
  if (error instanceof FuzzBug) return { kind: "bug", reason: error.message };
  if (error instanceof EbmlSyntaxError) {
    if (
      !Number.isSafeInteger(error.offset) || error.offset < 0 ||
      error.offset > inputLength
    ) {
      return {
        kind: "bug",
        reason: `EbmlSyntaxError with a bad offset ${error.offset}`,
        error,
      };
    }
    return { kind: "typed", error: "EbmlSyntaxError", message: error.message };
  }
  if (error instanceof RangeError && DOCUMENTED_RANGE.test(error.message)) {
    return { kind: "typed", error: "RangeError", message: error.message };
  }
  if (error instanceof TypeError && DOCUMENTED_TYPE.test(error.message)) {
    return { kind: "typed", error: "TypeError", message: error.message };
  }
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "bug", reason: `undocumented ${name}: ${message}`, error };
}

/**
 * Splits `bytes` into views: log-uniform sizes, now and then a run of one-byte chunks (so that
 * headers and payloads are split at every byte), one in ten inputs whole.
 */
export function randomChunks(bytes: Uint8Array, rng: Rng): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const whole = rng.float() < 0.1;
  let ones = 0;
  for (let i = 0; i < bytes.length;) {
    let n: number;
    if (whole) n = bytes.length;
    else if (ones > 0) {
      n = 1;
      ones--;
    } else if (rng.float() < 0.02) {
      n = 1;
      ones = rng.logLength(64);
    } else n = rng.logLength(65536);
    chunks.push(bytes.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

/** A block as written, for comparing with what the output parses back to. */
interface WrittenBlock {
  track: number;
  time: number;
  keyframe: boolean;
  frames: number;
}

function summarize(block: Block): WrittenBlock {
  return {
    track: block.track,
    time: block.time,
    keyframe: block.keyframe,
    frames: block.frames.length + (block.more ?? []).reduce((n, p) => n + p.length, 0),
  };
}

/** Options of `runOne`. */
export interface RunOptions {
  /** Milliseconds one input may take (default `FUZZ_TIME_LIMIT`). */
  timeLimit?: number;
  /** Parse the output back and compare its blocks (default true). */
  roundTrip?: boolean;
}

/**
 * Runs one input through `EbmlReader` → `MatroskaDemuxer` → `GopSegmenter`, in chunks chosen
 * by `seed`, and says how it ended.
 */
export function runOne(
  input: Uint8Array,
  seed: number,
  options: RunOptions = {},
): FuzzResult {
  const limit = options.timeLimit ?? FUZZ_TIME_LIMIT;
  const started = performance.now();
  let events = 0;
  const checkTime = () => {
    if ((++events & 1023) === 0 && performance.now() - started > limit) {
      throw new FuzzBug(`Input took over ${limit} ms (still emitting)`);
    }
  };
  const header: Uint8Array[] = [];
  const parts: Uint8Array[] = [];
  const written: WrittenBlock[] = [];
  /** Blocks in the Clusters cut so far (the open Cluster is lost when the input fails). */
  let output = 0;
  let clusters = 0;
  let outputBytes = 0;
  let result: FuzzResult | undefined;
  try {
    const reader = new EbmlReader({ maxElementSize: FUZZ_MAX_ELEMENT_SIZE, inParts: BLOCK_PARTS });
    const demuxer = new MatroskaDemuxer();
    let segmenter: GopSegmenter | undefined;
    const open: number[] = [];
    const take = (cluster: ReturnType<GopSegmenter["flush"]>) => {
      if (cluster === undefined) return;
      let length = 0;
      for (const p of cluster.parts) length += p.length;
      if (length !== cluster.byteLength) {
        throw new FuzzBug(
          `Cluster byteLength ${cluster.byteLength} but parts hold ${length}`,
        );
      }
      // Every GOP starts on a keyframe, and so does the output (viewers join at Clusters).
      const first = written[output];
      const primary = segmenter?.primaryTrack;
      if (cluster.blocks < 1 || first === undefined) {
        throw new FuzzBug(`Cluster of ${cluster.blocks} blocks`);
      }
      if (clusters === 0 && !cluster.keyframe) {
        throw new FuzzBug("The first Cluster does not begin a GOP");
      }
      if (
        cluster.keyframe && primary !== undefined &&
        !(first.keyframe && first.track === primary)
      ) {
        throw new FuzzBug(
          `Cluster at ${cluster.time} begins a GOP with ${JSON.stringify(first)}`,
        );
      }
      outputBytes += length;
      output += cluster.blocks;
      clusters++;
      for (const p of cluster.parts) parts.push(p);
    };
    const onMatroska = (m: MatroskaEvent) => {
      if (m.type === "header") {
        if (segmenter !== undefined) throw new FuzzBug("Second header event");
        header.push(m.header.bytes);
        outputBytes += m.header.bytes.length;
        segmenter = new GopSegmenter(m.header);
        return;
      }
      if (m.type === "clusterEnd") return;
      if (segmenter === undefined) throw new FuzzBug("Block before the header");
      const before = segmenter.droppedBlocks;
      const summary = summarize(m.block);
      take(segmenter.push(m.block));
      if (segmenter.droppedBlocks === before) written.push(summary);
    };
    const onEvent = (e: EbmlEvent) => {
      checkTime();
      if (e.type === "element") {
        if (e.data.length > FUZZ_MAX_ELEMENT_SIZE) {
          throw new FuzzBug(
            `Element payload of ${e.data.length} bytes exceeds the cap`,
          );
        }
      } else if (e.type === "start") {
        open.push(e.id);
      } else if (open.pop() !== e.id) {
        throw new FuzzBug(
          `End of 0x${e.id.toString(16)} does not match the open element`,
        );
      }
      demuxer.push(e, onMatroska);
    };
    for (const chunk of randomChunks(input, new Rng(seed))) {
      reader.push(chunk, onEvent);
    }
    reader.end(onEvent);
    if (open.length !== 0) {
      throw new FuzzBug(`${open.length} elements left open at the end`);
    }
    if (segmenter !== undefined) take(segmenter.flush());
  } catch (error) {
    result = classify(error, input.length);
    if (result.kind === "bug") return result;
  }
  const bounds = checkBounds({
    inputBytes: input.length,
    outputBytes,
    clusters,
    elapsed: performance.now() - started,
    limit,
  });
  if (bounds) return bounds;
  // What was output before an error must be valid too: viewers already have it.
  if (options.roundTrip !== false && header.length > 0) {
    const problem = roundTrip(
      concatBytes([...header, ...parts]),
      written.slice(0, output),
    );
    if (problem) return { kind: "bug", reason: `Round trip: ${problem}` };
    const elapsed = performance.now() - started;
    if (elapsed > limit) {
      return {
        kind: "bug",
        reason: `Input and round trip took ${elapsed.toFixed(0)} ms (limit ${limit})`,
      };
    }
  }
  return result ?? { kind: "ok", blocks: output, outputBytes };
}

/** The time and size limits, checked once an input is done. */
function checkBounds(run: {
  inputBytes: number;
  outputBytes: number;
  clusters: number;
  elapsed: number;
  limit: number;
}): FuzzResult | undefined {
  if (run.elapsed > run.limit) {
    return {
      kind: "bug",
      reason: `Input took ${run.elapsed.toFixed(0)} ms (limit ${run.limit})`,
    };
  }
  const bound = 2 * run.inputBytes + OUTPUT_SLACK +
    CLUSTER_OVERHEAD * run.clusters;
  if (run.outputBytes > bound) {
    return {
      kind: "bug",
      reason:
        `Output of ${run.outputBytes} bytes for ${run.inputBytes} bytes of input and ${run.clusters} Clusters (bound ${bound})`,
    };
  }
  return undefined;
}

/** Parses the segmenter's output back: it must be valid and hold exactly the blocks written. */
function roundTrip(
  output: Uint8Array,
  written: WrittenBlock[],
): string | undefined {
  const reader = new EbmlReader({ maxElementSize: FUZZ_MAX_ELEMENT_SIZE });
  const demuxer = new MatroskaDemuxer();
  let index = 0;
  let problem: string | undefined;
  try {
    const emit = (e: EbmlEvent) =>
      demuxer.push(e, (m) => {
        if (m.type !== "block" || problem) return;
        const got = summarize(m.block);
        const want = written[index++];
        if (
          want === undefined || got.track !== want.track ||
          got.time !== want.time ||
          got.keyframe !== want.keyframe || got.frames !== want.frames
        ) {
          problem = `block ${index - 1} reads back as ${JSON.stringify(got)}, written ${
            JSON.stringify(want)
          }`;
        }
      });
    reader.push(output, emit);
    reader.end(emit);
  } catch (error) {
    return `output does not parse: ${error instanceof Error ? error.message : error}`;
  }
  if (problem) return problem;
  if (index !== written.length) {
    return `${index} blocks read back, ${written.length} written`;
  }
  return undefined;
}
