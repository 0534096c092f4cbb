/**
 * The last stage of the ingest pipeline: the sink that feeds a mount.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { type Logger, SILENT } from "../log.ts";
import type { MatroskaBatch } from "../matroska/matroska_demux_stream.ts";
import type { IngestSink } from "../stream/mount_registry.ts";

/** What the writer has seen, kept apart from the `WritableStream` it is made in. */
interface Tally {
  bytes: number;
  blocks: number;
  headerSeen: boolean;
  truncated: EbmlSyntaxError | undefined;
  error: unknown;
}

/**
 * A `WritableStream` of `MatroskaBatch`es into an `IngestSink` (a `Mount` or a publication):
 * input bytes to `countBytesIn`, the header to `setHeader`, blocks to `pushBlock`, the source's
 * Cluster ends to `endCluster` (a mount without a delivery clock cuts an unpaced source where it
 * cut its own Clusters; with one, as the CLI runs, its clock decides, and a relay tier adds at
 * most one tick).
 *
 * A batch's fault is acted on after its events reached the sink: input that ended inside an
 * element (`ended` with `EbmlSyntaxError`) is kept for `takeTruncated()`, since everything
 * before it was delivered; any other fault is kept in `error` and errors the writer. Check
 * `error` after a pipe into it: the stage that sent the fault closes right after it, and a pipe
 * that sees its source close before its destination error resolves instead of rejecting
 * (WHATWG Streams, ReadableStreamPipeTo). The writer may take several pipes in turn
 * (`preventClose`), one per connection of a source.
 *
 * @example Write a file into a mount
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlParser } from "../ebml/ebml_parser.ts";
 * import { MatroskaDemuxStream } from "../matroska/matroska_demux_stream.ts";
 * import { Mount } from "../stream/mount.ts";
 * import { IngestWriter } from "./ingest_writer.ts";
 * const mount = new Mount("demo");
 * const writer = new IngestWriter(mount);
 * const file = await Deno.open("testdata/sample.webm");
 * await file.readable.pipeThrough(new EbmlParser()).pipeThrough(new MatroskaDemuxStream())
 *   .pipeTo(writer);
 * assertEquals(mount.header?.docType, "webm");
 * assertEquals(writer.blocks > 100, true);
 * mount.end();
 * ```
 */
export class IngestWriter extends WritableStream<MatroskaBatch> {
  #tally: Tally;

  constructor(sink: IngestSink, log: Logger = SILENT) {
    const tally: Tally = {
      bytes: 0,
      blocks: 0,
      headerSeen: false,
      truncated: undefined,
      error: undefined,
    };
    super({
      write(batch) {
        try {
          deliver(batch, sink, tally, log);
        } catch (error) {
          tally.error = error; // the sink's own faults too (a mount that refuses a block)
          throw error;
        }
      },
    });
    this.#tally = tally;
  }

  /** Input bytes the batches accounted for (told to the sink's `countBytesIn`). */
  get bytes(): number {
    return this.#tally.bytes;
  }

  /** Blocks handed to the sink. */
  get blocks(): number {
    return this.#tally.blocks;
  }

  /** Whether a stream header reached the sink. */
  get headerSeen(): boolean {
    return this.#tally.headerSeen;
  }

  /** The fault that stopped the writer (malformed input, a demuxer error), if one did. */
  get error(): unknown {
    return this.#tally.error;
  }

  /** The truncation of the input written since the last call, if it ended inside an element. */
  takeTruncated(): EbmlSyntaxError | undefined {
    const truncated = this.#tally.truncated;
    this.#tally.truncated = undefined;
    return truncated;
  }
}

/** Hands a batch's events to the sink, then acts on its fault. */
function deliver(batch: MatroskaBatch, sink: IngestSink, tally: Tally, log: Logger): void {
  if (batch.bytes) {
    sink.countBytesIn(batch.bytes);
    tally.bytes += batch.bytes;
  }
  const events = batch.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (event.type === "block") {
      sink.pushBlock(event.block);
      tally.blocks++;
    } else if (event.type === "clusterEnd") {
      sink.endCluster?.();
    } else {
      sink.setHeader(event.header);
      tally.headerSeen = true;
      const tracks = event.header.tracks.map((t) => `${t.number} ${t.kind} ${t.codecId}`);
      log.info(`Stream header: ${event.header.docType}, tracks: ${tracks.join("; ")}`);
    }
  }
  if (batch.error === undefined) return;
  if (batch.ended && batch.error instanceof EbmlSyntaxError) tally.truncated = batch.error;
  else throw batch.error;
}
