/**
 * Shared helpers of the delivery benchmarks (`join.ts`, `latency.ts`, `isolation.ts`): their
 * input (`--input` or media from `_media.ts`), a spawned mkserver, a raw HTTP/1.1 viewer with chunked decoding, and a viewer
 * side Matroska parser built on the library's own EBML reader.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readElements } from "../lib/ebml/read_elements.ts";
import { readUint } from "../lib/ebml/values.ts";
import { readBlockGroup, readSimpleBlock } from "../lib/matroska/block.ts";
import { readTracks, type TrackInfo } from "../lib/matroska/live_header.ts";
import { makeMedia } from "./_media.ts";
import { until } from "./_proc.ts";

const MAIN = new URL("../main.ts", import.meta.url);

/**
 * The V8 flags mkserver runs with (`deno task serve`, `deno task start`, the compiled binary): a
 * young generation of at most 2 MiB per semi-space instead of V8's 16 (README, "Memory").
 */
export const MKSERVER_V8_FLAGS = "--max-semi-space-size=2";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The `p`-th percentile (0–100, nearest rank) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Rounds to `digits` decimals, for the report. */
export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Parses `2M`, `500k` or `2000000` as bits per second. */
export function parseBitrate(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(s);
  if (m === null) throw new TypeError(`Invalid bitrate: ${s}`);
  const unit = m[2].toLowerCase() === "m" ? 1e6 : m[2].toLowerCase() === "k" ? 1e3 : 1;
  return Number(m[1]) * unit;
}

/** Common command-line flags: `--viewers`, `--seconds`, `--input`, `--bitrate`, `--keep`. */
export interface BenchFlags {
  viewers: number;
  seconds: number;
  input: string | undefined;
  bitrate: number;
  keep: boolean;
  flags: Record<string, unknown>;
}

/** Parses the common flags, with per-tool defaults; `extra` names more string flags. */
export function parseBenchFlags(
  args: string[],
  defaults: { viewers: number; seconds: number; bitrate: string },
  extra: string[] = [],
): BenchFlags {
  const parsed = parseArgs(args, {
    string: ["viewers", "seconds", "input", "bitrate", ...extra],
    boolean: ["keep", "help"],
  }) as Record<string, unknown>;
  if (parsed.help) {
    console.log(
      `flags: --viewers N (default ${defaults.viewers}) --seconds S (default ${defaults.seconds}) ` +
        `--input FILE (default: generated) --bitrate B (default ${defaults.bitrate}) --keep ` +
        extra.map((e) => `--${e} X`).join(" "),
    );
    Deno.exit(0);
  }
  const num = (key: string, def: number) => {
    const v = parsed[key];
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      throw new TypeError(`Invalid --${key}: ${v}`);
    }
    return n;
  };
  const seconds = num("seconds", defaults.seconds);
  if (seconds > 600) throw new TypeError("--seconds is capped at 600");
  return {
    viewers: Math.round(num("viewers", defaults.viewers)),
    seconds,
    input: parsed.input === undefined ? undefined : String(parsed.input),
    bitrate: parseBitrate(String(parsed.bitrate ?? defaults.bitrate)),
    keep: Boolean(parsed.keep),
    flags: parsed,
  };
}

/** A spawned mkserver. */
/**
 * The tool's input: `--input` when given, else media generated for `seconds` of stream at
 * `--bitrate` (`dir` is then the temp folder to clean up).
 */
export async function inputOrMedia(
  args: BenchFlags,
  seconds: number,
): Promise<{ input: string; dir: string | undefined }> {
  if (args.input !== undefined) return { input: args.input, dir: undefined };
  const media = await makeMedia({ seconds, bitrate: args.bitrate });
  return { input: media.path, dir: media.dir };
}

export interface Server {
  pid: number;
  port: number;
  base: string;
  process: Deno.ChildProcess;
  /** Log lines seen so far (stderr is drained continuously). */
  lines: string[];
  /** Log lines containing `needle` so far. */
  count(needle: string): number;
  /** GET /status, `mounts[0]`. */
  status(): Promise<MountStatus>;
  /** Ends it: SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit status. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** The part of `/status` the benchmarks read. */
export interface MountStatus {
  state: string;
  viewers: number;
  bytesIn: number;
  bytesOut: number;
  blocks: number;
  skips: number;
  ring: {
    gops: number;
    bytes: number;
    seconds: number;
    pinnedBytes: number;
    evictedGops: number;
  };
}

/**
 * Starts `deno run -A --v8-flags=… main.ts --port 0 --host 127.0.0.1 ...args INPUT` and waits for its
 * "Serving … at http://HOST:PORT/stream" line. `stdin: "piped"` for INPUT `-`.
 */
export async function startServer(
  args: string[],
  input: string,
  options: { stdin?: "piped" | "null" } = {},
): Promise<Server> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${MKSERVER_V8_FLAGS}`,
      MAIN.pathname,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      ...args,
      input,
    ],
    stdin: options.stdin ?? "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const counts = new Map<string, number>();
  const watched = ["fell behind", "joined", "disconnected", "ERROR", "WARN"];
  const { promise: listening, resolve, reject } = Promise.withResolvers<
    number
  >();
  (async () => {
    let pending = "";
    for await (const chunk of process.stderr) {
      pending += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (lines.length < 2000) lines.push(line);
        for (const w of watched) {
          if (line.includes(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
        }
        const m = /Serving .* at http:\/\/[^:]+:(\d+)\/stream/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    }
    reject(new Error(`mkserver exited early:\n${lines.join("\n")}`));
  })();
  const timer = setTimeout(
    () => reject(new Error("mkserver did not start within 15 s")),
    15_000,
  );
  let port: number;
  try {
    port = await listening;
  } catch (error) {
    try {
      process.kill("SIGKILL");
    } catch { /* gone */ }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const base = `http://127.0.0.1:${port}`;
  let stopped: Promise<Deno.CommandStatus> | undefined;
  return {
    pid: process.pid,
    port,
    base,
    process,
    lines,
    count: (needle) => counts.get(needle) ?? 0,
    async status() {
      const response = await fetch(`${base}/status`);
      const json = await response.json();
      return json.mounts[0] as MountStatus;
    },
    stop(graceMs = 2000) {
      stopped ??= (async () => {
        try {
          Deno.kill(process.pid, "SIGTERM");
        } catch { /* already gone */ }
        const timer = setTimeout(() => {
          try {
            Deno.kill(process.pid, "SIGKILL");
          } catch { /* already gone */ }
        }, graceMs);
        const status = await process.status;
        clearTimeout(timer);
        return status;
      })();
      return stopped;
    },
  };
}

/**
 * mkserver reading a live encoder, as users run it (`ffmpeg -re … - | mkserver -`): starts
 * mkserver on standard input with `args` and pipes `encoder`'s stdout into it. `stop()` ends
 * the encoder, then mkserver.
 */
export async function startPipedServer(
  args: string[],
  encoder: Deno.ChildProcess,
): Promise<{ server: Server; stop(): Promise<void> }> {
  const server = await startServer(args, "-", { stdin: "piped" });
  const piping = encoder.stdout.pipeTo(server.process.stdin).catch(() => {});
  return {
    server,
    async stop() {
      try {
        encoder.kill("SIGKILL");
      } catch { /* gone */ }
      await encoder.status;
      await piping;
      await server.stop();
    },
  };
}

/** Polls `/status` until the mount is live (the header is known), for at most `ms`. */
export async function waitLive(server: Server, ms = 10_000): Promise<void> {
  const live = async () => {
    const s = await server.status().catch(() => undefined);
    return s?.state === "live" && s.blocks > 0;
  };
  if (!(await until(live, ms, { every: 20 }))) throw new Error("the mount did not go live in time");
}

/** Compiles bench/loadclient.c (the many-viewer epoll client) into `dir`; returns its path. */
export async function buildClient(dir: string): Promise<string> {
  const out = `${dir}/loadclient`;
  const r = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", out, new URL("./loadclient.c", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`gcc failed:\n${decoder.decode(r.stderr)}`);
  return out;
}

/**
 * One viewer over a raw TCP connection: `GET /stream` in HTTP/1.1, the response head parsed,
 * the body de-chunked. Raw sockets keep read sizes and timing under the benchmark's control
 * (no client-side buffering beyond the kernel's).
 */
export class HttpViewer {
  readonly conn: Deno.TcpConn;
  /** `performance.now()` just before connecting. */
  readonly requestAt: number;
  status = 0;
  headers = new Map<string, string>();
  /** Body bytes after de-chunking. */
  bodyBytes = 0;
  /** Bytes read from the socket, head and chunk framing included. */
  wireBytes = 0;
  ended = false;
  #chunked = false;
  #buf: Uint8Array;
  // De-chunking state: 0 size line, 1 data, 2 CRLF after data, 3 done.
  #state = 0;
  #remaining = 0;
  #sizeLine = "";
  #crlf = 0;
  #head = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn, requestAt: number, readSize: number) {
    this.conn = conn;
    this.requestAt = requestAt;
    this.#buf = new Uint8Array(readSize);
  }

  /** Connects and sends the request (does not wait for the response). */
  static async open(
    port: number,
    options: { path?: string; readSize?: number } = {},
  ): Promise<HttpViewer> {
    const requestAt = performance.now();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const viewer = new HttpViewer(conn, requestAt, options.readSize ?? 65536);
    await conn.write(
      encoder.encode(
        `GET ${
          options.path ?? "/stream"
        } HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: */*\r\n\r\n`,
      ),
    );
    return viewer;
  }

  /** Changes the socket read size (e.g. 4 KiB for a throttled viewer). */
  setReadSize(n: number): void {
    this.#buf = new Uint8Array(n);
  }

  /**
   * Reads once from the socket; returns the body bytes it carried (possibly none, while the head
   * or chunk framing is read), or `null` at the end of the body or connection.
   */
  async read(): Promise<Uint8Array[] | null> {
    if (this.ended) return null;
    let n: number | null;
    try {
      n = await this.conn.read(this.#buf);
    } catch {
      n = null;
    }
    if (n === null) {
      this.ended = true;
      return null;
    }
    this.wireBytes += n;
    let bytes = this.#buf.subarray(0, n);
    if (this.status === 0) {
      const all = new Uint8Array(this.#head.length + n);
      all.set(this.#head);
      all.set(bytes, this.#head.length);
      let end = -1;
      for (let i = 0; i + 3 < all.length; i++) {
        if (
          all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 &&
          all[i + 3] === 10
        ) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        this.#head = all;
        return [];
      }
      const lines = decoder.decode(all.subarray(0, end)).split("\r\n");
      this.status = Number(lines[0].split(" ")[1]);
      for (const line of lines.slice(1)) {
        const i = line.indexOf(":");
        this.headers.set(
          line.slice(0, i).trim().toLowerCase(),
          line.slice(i + 1).trim(),
        );
      }
      this.#chunked = /chunked/i.test(
        this.headers.get("transfer-encoding") ?? "",
      );
      bytes = all.subarray(end + 4);
    }
    // Copy out: the read buffer is reused, and parsers may keep views.
    return this.#dechunk(bytes.slice());
  }

  #dechunk(bytes: Uint8Array): Uint8Array[] | null {
    if (!this.#chunked) {
      this.bodyBytes += bytes.length;
      return bytes.length > 0 ? [bytes] : [];
    }
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < bytes.length) {
      if (this.#state === 0) {
        const c = bytes[i++];
        if (c === 0x0a) {
          const size = parseInt(this.#sizeLine.trim().split(";")[0], 16);
          this.#sizeLine = "";
          if (size === 0) {
            this.#state = 3;
            this.ended = true;
            break;
          }
          this.#remaining = size;
          this.#state = 1;
        } else if (c !== 0x0d) {
          this.#sizeLine += String.fromCharCode(c);
        }
      } else if (this.#state === 1) {
        const take = Math.min(this.#remaining, bytes.length - i);
        out.push(bytes.subarray(i, i + take));
        this.bodyBytes += take;
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#state = 2;
          this.#crlf = 0;
        }
      } else if (this.#state === 2) {
        if (bytes[i++] === 0x0a) this.#state = 0;
        if (++this.#crlf > 2) throw new Error("bad chunk framing");
      } else {
        break;
      }
    }
    return out.length === 0 && this.ended ? null : out;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** A block as a viewer or the file parser sees it. */
export interface SeenBlock {
  track: number;
  time: number;
  keyframe: boolean;
  /** Index of the Cluster it is in (0 = first), on the viewer's side. */
  cluster: number;
  /** Whether it is the first block of its Cluster. */
  first: boolean;
}

/**
 * Parses the Matroska a viewer receives: Tracks, Cluster starts and ends, blocks with absolute
 * times. Callbacks run synchronously inside `push`.
 */
export class MkvWatcher {
  tracks: TrackInfo[] = [];
  videoTrack: number | undefined;
  timestampScale = 1_000_000;
  clusters = 0;
  #reader = new EbmlReader();
  #clusterTime = 0;
  #inCluster = false;
  #blocksInCluster = 0;
  onBlock?: (block: SeenBlock) => void;
  onClusterEnd?: (index: number) => void;
  onClusterStart?: (index: number) => void;

  /** Parses one chunk of the body. */
  push(chunk: Uint8Array): void {
    this.#reader.push(chunk, (e) => {
      if (e.type === "start") {
        if (e.id === ID.Cluster) {
          this.#inCluster = true;
          this.#blocksInCluster = 0;
          this.#clusterTime = 0;
          this.onClusterStart?.(this.clusters);
        }
      } else if (e.type === "end") {
        if (e.id === ID.Cluster && this.#inCluster) {
          this.#inCluster = false;
          this.onClusterEnd?.(this.clusters++);
        }
      } else if (e.id === ID.Tracks) {
        this.tracks = readTracks(e.data);
        this.videoTrack = this.tracks.find((t) => t.kind === "video")?.number;
      } else if (e.id === ID.Info) {
        for (const c of readElements(e.data)) {
          if (c.id === ID.TimestampScale) {
            this.timestampScale = readUint(c.data);
          }
        }
      } else if (e.id === ID.Timestamp && this.#inCluster) {
        this.#clusterTime = readUint(e.data);
      } else if (
        (e.id === ID.SimpleBlock || e.id === ID.BlockGroup) && this.#inCluster
      ) {
        const b = e.id === ID.SimpleBlock
          ? readSimpleBlock(e.data, this.#clusterTime)
          : readBlockGroup(e.data, this.#clusterTime);
        this.onBlock?.({
          track: b.track,
          time: b.time,
          keyframe: b.keyframe,
          cluster: this.clusters,
          first: this.#blocksInCluster++ === 0,
        });
      }
    });
  }
}

/** A block of a file and the byte offset just past it. */
export interface FileBlock {
  track: number;
  /** Absolute time in TimestampScale units. */
  time: number;
  keyframe: boolean;
  /** Offset of the block's element in the file. */
  start: number;
  /** Offset just past the block's element in the file. */
  end: number;
}

/** Parses a whole Matroska file: its blocks in file order, tracks and where the first Cluster starts. */
export function indexFile(bytes: Uint8Array): {
  blocks: FileBlock[];
  tracks: TrackInfo[];
  videoTrack: number | undefined;
  timestampScale: number;
  firstCluster: number;
} {
  const reader = new EbmlReader();
  const blocks: FileBlock[] = [];
  let tracks: TrackInfo[] = [];
  let timestampScale = 1_000_000;
  let clusterTime = 0;
  let firstCluster = -1;
  const emit = (e: Parameters<Parameters<EbmlReader["push"]>[1]>[0]) => {
    if (e.type === "start") {
      if (e.id === ID.Cluster && firstCluster < 0) firstCluster = e.offset;
      return;
    }
    if (e.type !== "element") return;
    if (e.id === ID.Tracks) tracks = readTracks(e.data);
    else if (e.id === ID.Info) {
      for (const c of readElements(e.data)) {
        if (c.id === ID.TimestampScale) timestampScale = readUint(c.data);
      }
    } else if (e.id === ID.Timestamp) clusterTime = readUint(e.data);
    else if (e.id === ID.SimpleBlock || e.id === ID.BlockGroup) {
      const b = e.id === ID.SimpleBlock
        ? readSimpleBlock(e.data, clusterTime)
        : readBlockGroup(e.data, clusterTime);
      blocks.push({
        track: b.track,
        time: b.time,
        keyframe: b.keyframe,
        start: e.offset,
        end: e.offset + e.headerSize + e.data.length,
      });
    }
  };
  reader.push(bytes, emit);
  reader.end(emit);
  return {
    blocks,
    tracks,
    videoTrack: tracks.find((t) => t.kind === "video")?.number,
    timestampScale,
    firstCluster,
  };
}

/** Average bitrate (bit/s) and media duration (s) of a file, from its size and block times. */
export function fileRate(
  bytes: Uint8Array,
): { bitrate: number; seconds: number; frameMs: number } {
  const index = indexFile(bytes);
  const ms = index.timestampScale / 1e6;
  let min = Infinity, max = -Infinity;
  for (const b of index.blocks) {
    min = Math.min(min, b.time);
    max = Math.max(max, b.time);
  }
  const seconds = ((max - min) * ms) / 1000;
  return {
    bitrate: (bytes.length * 8) / seconds,
    seconds,
    frameMs: frameInterval(index.blocks, index.videoTrack) * ms,
  };
}

/** The median interval between consecutive video block times (TimestampScale units). */
export function frameInterval(
  blocks: readonly { track: number; time: number }[],
  video: number | undefined,
): number {
  const times = blocks.filter((b) => b.track === video).map((b) => b.time)
    .sort((a, b) => a - b);
  const diffs: number[] = [];
  for (let i = 1; i < times.length; i++) diffs.push(times[i] - times[i - 1]);
  return percentile(diffs, 50);
}

/** Removes a temporary directory made by `makeMedia` unless `keep`. */
export async function cleanup(dir: string | undefined, keep: boolean) {
  if (dir === undefined) return;
  if (keep) console.error(`kept ${dir}`);
  else await Deno.remove(dir, { recursive: true }).catch(() => {});
}
