/**
 * mkserver's library: the EBML parser, the Matroska demuxer and GOP segmenter, the GOP ring and
 * per-viewer streams, the ingest loop and the HTTP handler that make up the live Matroska/WebM
 * server. The command-line entry is `main.ts`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlReader, GopSegmenter, MatroskaDemuxer } from "./mod.ts";
 * const bytes = await Deno.readFile("testdata/sample.webm");
 * const reader = new EbmlReader();
 * const demuxer = new MatroskaDemuxer();
 * let segmenter: GopSegmenter | undefined;
 * let gops = 0;
 * reader.push(bytes, (event) =>
 *   demuxer.push(event, (m) => {
 *     if (m.type === "header") segmenter = new GopSegmenter(m.header);
 *     else if (m.type === "block" && segmenter?.push(m.block)?.keyframe) gops++;
 *   }));
 * assertEquals(gops > 0, true);
 * ```
 *
 * @example The same as a stream pipeline into a mount, as `ingest()` runs it
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlParser, IngestWriter, MatroskaDemuxStream, Mount } from "./mod.ts";
 * const mount = new Mount("demo");
 * const file = await Deno.open("testdata/sample.webm");
 * await file.readable
 *   .pipeThrough(new EbmlParser())
 *   .pipeThrough(new MatroskaDemuxStream())
 *   .pipeTo(new IngestWriter(mount));
 * assertEquals(mount.header?.docType, "webm");
 * mount.end();
 * ```
 *
 * @module
 */

export { EbmlSyntaxError } from "./lib/ebml/ebml_syntax_error.ts";
export {
  measureVint,
  measureVintLength,
  readVint,
  UNKNOWN_SIZE,
  type VintResult,
  writeUnknownSize,
  writeVint,
} from "./lib/ebml/vint.ts";
export {
  type EbmlSchema,
  type ElementKind,
  type ElementSpec,
  formatId,
  ID,
  MATROSKA_SCHEMA,
} from "./lib/ebml/ids.ts";
export {
  DEFAULT_MAX_ELEMENT_SIZE,
  type EbmlElementEvent,
  type EbmlEndEvent,
  type EbmlEvent,
  EbmlReader,
  type EbmlReaderOptions,
  type EbmlStartEvent,
} from "./lib/ebml/ebml_reader.ts";
export { type Batch, type EbmlBatch, EbmlParser } from "./lib/ebml/ebml_parser.ts";
export { type EbmlChild, readElements } from "./lib/ebml/read_elements.ts";
export { readFloat, readInt, readString, readUint } from "./lib/ebml/values.ts";
export {
  concatBytes,
  writeElement,
  writeElementHeader,
  writeId,
  writeUintElement,
  writeUnknownSizeHeader,
} from "./lib/ebml/writer.ts";
export { type Block, readBlockGroup, readSimpleBlock } from "./lib/matroska/block.ts";
export {
  buildLiveHeader,
  contentTypeOf,
  type LiveHeader,
  readTracks,
  type TrackInfo,
  type TrackKind,
} from "./lib/matroska/live_header.ts";
export { MatroskaDemuxer, type MatroskaEvent } from "./lib/matroska/matroska_demuxer.ts";
export { type MatroskaBatch, MatroskaDemuxStream } from "./lib/matroska/matroska_demux_stream.ts";
export {
  GopSegmenter,
  type GopSegmenterOptions,
  type OutputCluster,
} from "./lib/matroska/gop_segmenter.ts";
export {
  Gop,
  GopRing,
  type GopRingOptions,
  type GopRingStats,
  type HeldCluster,
} from "./lib/stream/gop_ring.ts";
export { DEFAULT_LATENCY, DeliveryClock, type Latency } from "./lib/stream/delivery_clock.ts";
export { ClientStream, type ClientStreamOptions } from "./lib/stream/client_stream.ts";
export { Mount, type MountOptions, type MountStatus } from "./lib/stream/mount.ts";
export type { StreamEvent, StreamEvents } from "./lib/stream/stream_events.ts";
export {
  ingest,
  type IngestOptions,
  type IngestResult,
  InputFormatError,
} from "./lib/ingest/ingest.ts";
export {
  ConnectionSplitter,
  type ConnectionSplitterOptions,
} from "./lib/ingest/connection_splitter.ts";
export { IngestWriter } from "./lib/ingest/ingest_writer.ts";
export { Pacer, type PacerOptions } from "./lib/ingest/pacer.ts";
export { PacingStream, type PacingStreamOptions } from "./lib/ingest/pacing_stream.ts";
export { sniffFormat } from "./lib/ingest/sniff_format.ts";
export {
  listRecordings,
  parseRecordingName,
  type RecordingEntry,
} from "./lib/record/recording_list.ts";
export { RecorderTable, type RecorderTableOptions } from "./lib/record/recorder_table.ts";
export { createHandler, type Handler, type HandlerOptions } from "./lib/server/handler.ts";
export { type MountServer, serveMount, type ServeMountOptions } from "./lib/server/serve.ts";
export {
  type AccessCheck,
  type AccessDecision,
  AccessPolicy,
  type AccessSettings,
} from "./lib/server/access/access_policy.ts";
export {
  type AccessOptions,
  createAccessPolicy,
} from "./lib/server/access/create_access_policy.ts";
export { type SignedPath, UrlSigner } from "./lib/server/access/url_signer.ts";
export { type Action, type JwtGrant, JwtVerifier } from "./lib/server/access/jwt_verifier.ts";
export { AuthCallback, type AuthQuestion } from "./lib/server/access/auth_callback.ts";
export { IpList } from "./lib/server/access/ip_list.ts";
export {
  type WebhookPayload,
  Webhooks,
  type WebhooksOptions,
} from "./lib/server/webhooks/webhooks.ts";

// `deno run -A jsr:@x/mkserver …` runs the package's default export: start the server then.
if (import.meta.main) {
  const { main } = await import("./main.ts");
  Deno.exit(await main(Deno.args));
}
