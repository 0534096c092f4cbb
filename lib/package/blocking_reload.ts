/**
 * Blocking playlist reload (draft-pantos-hls-rfc8216bis §6.2.5.2): what a request with
 * `_HLS_msn` / `_HLS_part` asks for, whether it is answerable now, must wait, or is refused.
 *
 * @module
 */

import type { PlaylistSegment } from "./hls_playlist.ts";

/** The part a blocking request waits for; `part` absent means the whole segment. */
export interface BlockingRequest {
  msn: number;
  part?: number;
}

/** A refused request: its status and the reason for the body. */
export interface BlockingRefusal {
  status: 400;
  reason: string;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Reads `_HLS_msn` and `_HLS_part` from a playlist request's query: `undefined` for a plain
 * request, the request, or a refusal for malformed values and for `_HLS_part` without `_HLS_msn`.
 */
export function parseBlockingRequest(
  query: URLSearchParams,
): BlockingRequest | BlockingRefusal | undefined {
  const msn = query.get("_HLS_msn");
  const part = query.get("_HLS_part");
  if (msn === null) {
    return part === null ? undefined : { status: 400, reason: "_HLS_part needs _HLS_msn" };
  }
  if (!DECIMAL.test(msn)) return { status: 400, reason: `Bad _HLS_msn: ${msn}` };
  if (part === null) return { msn: Number(msn) };
  if (!DECIMAL.test(part)) return { status: 400, reason: `Bad _HLS_part: ${part}` };
  return { msn: Number(msn), part: Number(part) };
}

/**
 * The Advance Part Limit: "three divided by the Part Target Duration if the Part Target Duration is
 * less than one second, or three otherwise" (§6.2.5.2).
 */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.ceil(3 / partTarget) : 3;
}

/**
 * Whether the playlist already satisfies a blocking request (`"ready"`), will later (`"wait"`),
 * or the request is too far ahead to wait for (a refusal, answered at once).
 */
export function blockingState(
  segments: readonly PlaylistSegment[],
  request: BlockingRequest,
  partTarget: number,
): "ready" | "wait" | BlockingRefusal {
  const newest = segments[segments.length - 1];
  if (!newest) return "wait";
  const lastMsn = newest.complete ? newest.number : newest.number - 1;
  if (request.msn > newest.number + 2) {
    return { status: 400, reason: `_HLS_msn ${request.msn} is more than two segments ahead` };
  }
  const segment = segments.find((s) => s.number === request.msn);
  if (request.part === undefined) {
    return request.msn <= lastMsn ? "ready" : "wait";
  }
  if (segment) {
    // A gap has no parts to wait for: the playlist has reached it (the source is away).
    if (segment.gap) return "ready";
    // A part index past a complete segment's last part means part 0 of the next segment.
    if (request.part < segment.parts.length) return "ready";
    if (segment.complete) {
      return blockingState(segments, { msn: request.msn + 1, part: 0 }, partTarget);
    }
    if (request.part - (segment.parts.length - 1) > advancePartLimit(partTarget)) {
      return { status: 400, reason: `_HLS_part ${request.part} is beyond the Advance Part Limit` };
    }
    return "wait";
  }
  return request.msn < segments[0].number ? "ready" : "wait";
}
