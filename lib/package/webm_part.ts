/**
 * WebM media for one track: a part is one Cluster holding that track's frames as SimpleBlocks,
 * one frame each (the WebM byte stream format for MSE takes no lacing), and a segment is its
 * parts' Clusters in order.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import { type Payload, payloadLength } from "../matroska/block.ts";
import { measureVint, writeVint } from "../ebml/vint.ts";
import { writeElementHeader, writeUintElement } from "../ebml/writer.ts";

/** One frame of a track, unlaced. */
export interface WebmFrame {
  /** Absolute time in TimestampScale units. */
  time: number;
  keyframe: boolean;
  /** The frame's bytes: a view of the input, or views of the chunks it spanned. */
  data: Payload;
}

/** A Cluster's bytes, in order: small new headers beside views of the frames. */
export interface WebmPart {
  parts: Uint8Array[];
  byteLength: number;
}

/** SimpleBlock flags (RFC 9559 §10.2): keyframe; no lacing, since each frame is a block. */
const KEYFRAME = 0x80;

/**
 * Writes one Cluster of `track`'s frames, timed from `time` (the part's start).
 *
 * @throws {RangeError} when a frame is more than 32.767 s from `time` (int16 relative times,
 * RFC 9559 §10.1): parts are far shorter than that
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeWebmPart } from "./webm_part.ts";
 * const frame = { time: 1000, keyframe: true, data: new Uint8Array([1, 2, 3]) };
 * const cluster = writeWebmPart(1, 1000, [frame]);
 * assertEquals(cluster.parts.at(-1), frame.data); // the frame is a view, not a copy
 * assertEquals(cluster.byteLength, cluster.parts.reduce((n, p) => n + p.length, 0));
 * ```
 */
export function writeWebmPart(track: number, time: number, frames: readonly WebmFrame[]): WebmPart {
  const body: Uint8Array[] = [writeUintElement(ID.Timestamp, time)];
  const trackBytes = writeVint(track);
  for (const frame of frames) {
    const relative = frame.time - time;
    if (relative < -0x8000 || relative > 0x7fff) {
      throw new RangeError(`Frame at ${frame.time} is too far from its Cluster at ${time}`);
    }
    const headerLength = trackBytes.length + 3;
    const size = headerLength + payloadLength(frame.data);
    const header = new Uint8Array(1 + measureVint(size) + headerLength);
    header[0] = ID.SimpleBlock;
    let at = 1;
    header.set(writeVint(size), at);
    at += measureVint(size);
    header.set(trackBytes, at);
    at += trackBytes.length;
    header[at] = (relative >> 8) & 0xff;
    header[at + 1] = relative & 0xff;
    header[at + 2] = frame.keyframe ? KEYFRAME : 0;
    body.push(header);
    if (frame.data instanceof Uint8Array) body.push(frame.data);
    else for (const piece of frame.data) body.push(piece);
  }
  const bodyLength = body.reduce((n, p) => n + p.length, 0);
  const clusterHeader = writeElementHeader(ID.Cluster, bodyLength);
  return { parts: [clusterHeader, ...body], byteLength: clusterHeader.length + bodyLength };
}
