// Shared helpers for the tests: fixtures, chunking, whole-file parsing, and a recording logger.
import { ingest } from "../lib/ingest/ingest.ts";
import type { Logger } from "../lib/log.ts";
import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import type { Block } from "../lib/matroska/block.ts";
import { GopSegmenter, type OutputCluster } from "../lib/matroska/gop_segmenter.ts";
import type { LiveHeader } from "../lib/matroska/live_header.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { Mount, type MountOptions } from "../lib/stream/mount.ts";
import { mulberry32 } from "../bench/fuzz_harness.ts";

/** The complete fixtures in testdata/ (truncated.webm is left out: it is cut on purpose). */
export const FIXTURES = [
  "sample.webm",
  "h264_aac.mkv",
  "h264_blockgroups.mkv",
  "midgop_clusters.mkv",
  "unknown_size.webm",
  "audio_only.webm",
  "long_gop.webm",
] as const;

export const TESTDATA = new URL("../testdata/", import.meta.url);

export function readFixture(name: string): Promise<Uint8Array> {
  return Deno.readFile(new URL(name, TESTDATA));
}

/**
 * A count from the environment variable `name` (an integer of at least `min`), or `fallback`
 * when it is unset: the scenario tests run small in CI and at the size on demand.
 */
export function envCount(name: string, fallback: number, min: number): number {
  const value = Deno.env.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new TypeError(`Invalid ${name}: ${value}`);
  return n;
}

/** Options of `liveMount`: the mount's own, and how the fixture is fed. */
export interface LiveMountOptions extends MountOptions {
  /** Feed the fixture at its own pace, with no preroll (default), or all at once. */
  realtime?: boolean;
}

/** A mount named "stream" fed with a fixture by `ingest`, and how to stop the feed. */
export interface LiveMount {
  mount: Mount;
  /** Stops the feed and resolves once `ingest` has ended (and the mount with it). */
  close(): Promise<void>;
}

/** A mount fed from the fixture `name`; resolves once its header is known. */
export async function liveMount(
  name: string,
  options: LiveMountOptions = {},
): Promise<LiveMount> {
  const { realtime = true, ...mountOptions } = options;
  const mount = new Mount("stream", mountOptions);
  const stop = new AbortController();
  const done = ingest(ReadableStream.from([await readFixture(name)]), mount, {
    realtime,
    preroll: 0,
    signal: stop.signal,
  }).finally(() => mount.end());
  await mount.ready;
  return {
    mount,
    async close() {
      stop.abort();
      await done;
    },
  };
}

/**
 * Every Matroska and WebM file in testdata/ (truncated.webm too: a cut file is a good seed),
 * sorted by name so that the fuzz inputs built from them are the same on every machine.
 */
export async function readMediaFiles(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const files: { name: string; bytes: Uint8Array }[] = [];
  for await (const entry of Deno.readDir(TESTDATA)) {
    if (entry.isFile && /\.(webm|mkv)$/.test(entry.name)) {
      files.push({ name: entry.name, bytes: await Deno.readFile(new URL(entry.name, TESTDATA)) });
    }
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

/** A small deterministic PRNG: the fuzzer's mulberry32. */
export const prng: (seed: number) => () => number = mulberry32;

/** Splits `bytes` into chunks of sizes drawn from 1..max (copies, like separate reads). */
export function randomChunks(
  bytes: Uint8Array,
  seed: number,
  max = 4096,
): Uint8Array[] {
  const rand = prng(seed);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(rand() * max);
    chunks.push(bytes.slice(i, i + n));
    i += n;
  }
  return chunks;
}

/** Splits `bytes` into one-byte chunks. */
export function byteChunks(bytes: Uint8Array): Uint8Array[] {
  return Array.from({ length: bytes.length }, (_, i) => bytes.slice(i, i + 1));
}

/** A comparable form of an event (payload bytes as hex-ish digests are too slow: keep arrays). */
export interface PlainEvent {
  type: string;
  id: number;
  offset: number;
  size?: number;
  data?: number[];
}

export function plain(event: EbmlEvent): PlainEvent {
  if (event.type === "element") {
    return {
      type: event.type,
      id: event.id,
      offset: event.offset,
      data: Array.from(event.data),
    };
  }
  if (event.type === "start") {
    return {
      type: event.type,
      id: event.id,
      offset: event.offset,
      size: event.size,
    };
  }
  return { type: event.type, id: event.id, offset: event.offset };
}

/** Parses chunks with `EbmlReader`, returning events (plain) and the end error, if any. */
export function parseChunks(
  chunks: Uint8Array[],
): { events: PlainEvent[]; error?: Error } {
  const reader = new EbmlReader();
  const events: PlainEvent[] = [];
  const emit = (e: EbmlEvent) => events.push(plain(e));
  try {
    for (const chunk of chunks) reader.push(chunk, emit);
    reader.end(emit);
  } catch (error) {
    return { events, error: error as Error };
  }
  return { events };
}

/** Demuxes whole `bytes`: the header and every block. */
export function demux(
  bytes: Uint8Array | Uint8Array[],
): { header: LiveHeader; blocks: Block[] } {
  const reader = new EbmlReader();
  const demuxer = new MatroskaDemuxer();
  const blocks: Block[] = [];
  const emit = (e: EbmlEvent) =>
    demuxer.push(e, (m) => {
      if (m.type === "block") blocks.push(m.block);
    });
  for (const chunk of Array.isArray(bytes) ? bytes : [bytes]) {
    reader.push(chunk, emit);
  }
  reader.end(emit);
  if (!demuxer.header) throw new Error("No header");
  return { header: demuxer.header, blocks };
}

/** Re-clusters whole `bytes`: the live header, the Clusters, and the output as one array. */
export function segment(
  bytes: Uint8Array,
  maxClusterDuration?: number,
): {
  header: LiveHeader;
  blocks: Block[];
  clusters: OutputCluster[];
  output: Uint8Array;
} {
  const { header, blocks } = demux(bytes);
  const segmenter = new GopSegmenter(header, { maxClusterDuration });
  const clusters: OutputCluster[] = [];
  for (const block of blocks) {
    const c = segmenter.push(block);
    if (c) clusters.push(c);
  }
  const last = segmenter.flush();
  if (last) clusters.push(last);
  const output = concatBytes([
    header.bytes,
    ...clusters.flatMap((c) => c.parts),
  ]);
  return { header, blocks, clusters, output };
}

/** Hex of a byte array, for messages. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * A logger that keeps lines and lets a test wait for one. With `matchPast`, `waitFor` also
 * resolves on a line logged before the call; otherwise only on a later one.
 */
export function recorder(options: { matchPast?: boolean } = {}) {
  const lines: string[] = [];
  let waiters: { re: RegExp; resolve: () => void }[] = [];
  const add = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
    waiters = waiters.filter((w) => {
      if (!w.re.test(message)) return true;
      w.resolve();
      return false;
    });
  };
  const log: Logger = { error: add("error"), warn: add("warn"), info: add("info"), debug() {} };
  const waitFor = (re: RegExp) =>
    options.matchPast && lines.some((l) => re.test(l))
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ re, resolve }));
  return { log, lines, waitFor };
}

/**
 * Writes `bytes` to a temp file ending in `.ext` and decodes it with ffmpeg: its exit code, what
 * it complained of (`-v error`), and the codecs ffprobe sees, one a line.
 */
export async function decodeBytes(
  bytes: Uint8Array,
  ext: string,
): Promise<{ code: number; text: string; streams: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/out.${ext}`;
    await Deno.writeFile(path, bytes);
    const out = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-nostdin", "-i", path, "-f", "null", "-"],
      stdout: "null",
      stderr: "piped",
    }).output();
    const probe = await new Deno.Command("ffprobe", {
      args: ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", path],
      stdout: "piped",
    }).output();
    return {
      code: out.code,
      text: new TextDecoder().decode(out.stderr),
      streams: new TextDecoder().decode(probe.stdout).trim(),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
