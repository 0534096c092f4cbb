// The parser benchmarks' unit of work: EbmlReader + MatroskaDemuxer + GopSegmenter over chunks.
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { GopSegmenter } from "../lib/matroska/gop_segmenter.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";

/** Parses, demuxes and re-clusters `chunks`; returns the Clusters made and their bytes. */
export function segmentAll(chunks: readonly Uint8Array[]): { clusters: number; bytes: number } {
  const reader = new EbmlReader();
  const demuxer = new MatroskaDemuxer();
  let segmenter: GopSegmenter | undefined;
  let clusters = 0;
  let bytes = 0;
  const count = (c: { byteLength: number } | undefined) => {
    if (c === undefined) return;
    clusters++;
    bytes += c.byteLength;
  };
  const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) =>
    demuxer.push(e, (m) => {
      if (m.type === "header") segmenter = new GopSegmenter(m.header);
      else if (m.type === "block") count(segmenter!.push(m.block));
    });
  for (const chunk of chunks) reader.push(chunk, emit);
  reader.end(emit);
  count(segmenter?.flush());
  return { clusters, bytes };
}
