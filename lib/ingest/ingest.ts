/**
 * The ingest loop: bytes → EBML reader → Matroska demuxer → (pacing) → mount.
 *
 * @module
 */

import { sleep } from "./_timing.ts";
import { EbmlReader } from "../ebml/ebml_reader.ts";
import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { type Logger, SILENT } from "../log.ts";
import { MatroskaDemuxer, type MatroskaEvent } from "../matroska/matroska_demuxer.ts";
import type { IngestSink } from "../stream/mount_registry.ts";
import { Pacer } from "./pacer.ts";
import { hexPrefix, sniffFormat } from "./sniff_format.ts";

/** The input is not something mkserver can ingest (empty, or not Matroska/WebM). */
export class InputFormatError extends TypeError {
  /** The format recognized from the first bytes (`"mp4"`, `"text"`, `"empty"`, …). */
  readonly format: string;

  constructor(message: string, format: string) {
    super(message);
    this.name = "InputFormatError";
    this.format = format;
  }
}

/** Options of `ingest`. */
export interface IngestOptions {
  /** Play at real-time speed by block timestamps (for files). Default false: as it arrives. */
  realtime?: boolean;
  /** With `realtime`: milliseconds of media sent at once first, to fill the fast-start window. */
  preroll?: number;
  /** Cap on a buffered element, see `EbmlReaderOptions`. */
  maxElementSize?: number;
  log?: Logger;
  /** Stops the ingest (resolves early; the source is cancelled). */
  signal?: AbortSignal;
  /**
   * Asked before each chunk: true when the chunk begins a new connection of a reconnecting
   * source. The parser then starts afresh (the old connection may have stopped inside an
   * element) and the new connection's header goes to the sink, which continues the stream.
   */
  shouldRestart?: () => boolean;
}

/** How an ingest ended. */
export interface IngestResult {
  /** Bytes read from the source. */
  bytes: number;
  /** Blocks handed to the mount. */
  blocks: number;
  /** Set when the input stopped inside an element (a cut file, a killed encoder). */
  truncated?: EbmlSyntaxError;
}

/**
 * Reads a Matroska/WebM byte stream into `mount`: the live header once, then every block,
 * paced by timestamps when `realtime` is set. Resolves when the source ends (`truncated` set
 * when it ended inside an element: everything before that was delivered). Does not end the
 * mount: the caller decides (another source may follow).
 *
 * @throws {InputFormatError} when the input is empty or not Matroska/WebM
 * @throws {EbmlSyntaxError} on malformed data (after delivering everything before it)
 * @throws {RangeError} when an element exceeds the size cap
 */
export async function ingest(
  source: ReadableStream<Uint8Array>,
  mount: IngestSink,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const log = options.log ?? SILENT;
  const signal = options.signal;
  let reader = new EbmlReader({ maxElementSize: options.maxElementSize });
  let demuxer = new MatroskaDemuxer();
  let headerSeen = false;
  const pacer = options.realtime ? new Pacer({ preroll: options.preroll ?? 0 }) : undefined;
  const queue: MatroskaEvent[] = [];
  const onMatroska = (event: MatroskaEvent) => queue.push(event);
  const onEbml = (event: Parameters<MatroskaDemuxer["push"]>[0]) => demuxer.push(event, onMatroska);
  let bytes = 0;
  let blocks = 0;
  let head: Uint8Array | undefined = new Uint8Array(0);
  let msPerUnit = 1;
  let startWall = 0;

  const drain = async () => {
    for (let i = 0; i < queue.length; i++) {
      const event = queue[i];
      if (event.type === "clusterEnd") {
        // Unpaced sources (a relay, a pipe): cut our Cluster where the source cut its own, so
        // each relay tier adds no Cluster's worth of delay. Files keep their paced cutting.
        if (pacer === undefined) mount.endCluster?.();
        continue;
      }
      if (event.type === "header") {
        mount.setHeader(event.header);
        msPerUnit = event.header.timestampScale / 1e6;
        const tracks = event.header.tracks.map((t) => `${t.number} ${t.kind} ${t.codecId}`);
        log.info(
          `Stream header: ${event.header.docType}, tracks: ${tracks.join("; ")}`,
        );
        continue;
      }
      if (pacer !== undefined) {
        const wait = pacer.delay(
          event.block.time * msPerUnit,
          performance.now() - startWall,
        );
        if (wait >= 1) await sleep(wait, signal);
        if (signal?.aborted) return;
      }
      mount.pushBlock(event.block);
      blocks++;
    }
    queue.length = 0;
  };

  startWall = performance.now();
  for await (const chunk of source) {
    if (signal?.aborted) break;
    if (chunk.length === 0) continue;
    bytes += chunk.length;
    mount.countBytesIn(chunk.length);
    if (options.shouldRestart?.()) {
      try {
        reader.end(onEbml);
      } catch (e) {
        if (!(e instanceof EbmlSyntaxError)) throw e;
        log.warn(`The previous connection ended mid-element: ${e.message}`);
      }
      await drain();
      headerSeen ||= demuxer.header !== undefined;
      reader = new EbmlReader({ maxElementSize: options.maxElementSize });
      demuxer = new MatroskaDemuxer();
      head = new Uint8Array(0);
    }
    let data = chunk;
    if (head !== undefined) {
      // Recognize the input from its first four bytes, which may come in several chunks.
      data = head.length ? concat(head, chunk) : chunk;
      if (data.length < 4) {
        head = data;
        continue;
      }
      checkFormat(data);
      head = undefined;
    }
    let error: unknown;
    try {
      reader.push(data, onEbml);
    } catch (e) {
      error = e;
    }
    await drain(); // deliver everything parsed before an error
    if (error !== undefined) throw error;
    if (signal?.aborted) break;
  }
  if (signal?.aborted) return { bytes, blocks };
  if (head !== undefined) checkFormat(head);
  let truncated: EbmlSyntaxError | undefined;
  try {
    reader.end(onEbml);
  } catch (e) {
    if (!(e instanceof EbmlSyntaxError)) throw e;
    truncated = e;
  }
  await drain();
  if (!headerSeen && demuxer.header === undefined && truncated === undefined) {
    throw new EbmlSyntaxError(
      "Input ended before any Tracks and Cluster",
      reader.offset,
    );
  }
  return { bytes, blocks, truncated };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function checkFormat(head: Uint8Array): void {
  if (head.length === 0) throw new InputFormatError("Input is empty", "empty");
  const format = sniffFormat(head);
  if (format === "ebml") return;
  const looks = format === "unknown" ? "" : ` (looks like ${format})`;
  throw new InputFormatError(
    `Input is not Matroska or WebM: it starts with ${hexPrefix(head)}${looks}`,
    format,
  );
}
