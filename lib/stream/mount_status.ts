/**
 * What a mount reports in `/status`: its summary's shape, and the bitrates it samples.
 *
 * @module
 */

import type { LiveHeader, TrackInfo } from "../matroska/live_header.ts";
import type { GopRing } from "./gop_ring.ts";
import type { ViewerStatus } from "./viewer_table.ts";

/** A track as `/status` lists it: its CodecPrivate bytes stay out of the JSON. */
export type TrackStatus = Omit<TrackInfo, "codecPrivate">;

/** A summary of a mount, for `/status`. */
export interface MountStatus {
  name: string;
  /** When the mount was created (ISO 8601). */
  startedAt: string;
  state: "waiting" | "live" | "ended";
  docType?: string;
  contentType?: string;
  tracks?: TrackStatus[];
  viewers: number;
  bytesIn: number;
  /** Payload bytes handed to viewers (a server's framing not counted). */
  bytesOut: number;
  blocks: number;
  skips: number;
  /**
   * Viewers disconnected because they stopped reading: counted by the server that closes their
   * connections (lib/server fills it in), absent from `Mount.status()`.
   */
  evictions?: number;
  /** Bits per second received from the source, over the last sampling interval. */
  bitrateIn: number;
  /** Payload bits per second handed to viewers, over the last sampling interval. */
  bitrateOut: number;
  ring: GopRing["stats"] & { seconds: number };
  /** Media time of the newest block served (seconds, the stream's own timeline). */
  liveTime: number;
  /** Media time of the newest block in its source's timeline (seconds; differs after a handover). */
  sourceTime: number;
  /** What the mount's publisher says of its source (`Mount.source`), e.g. a relay's origin. */
  relay?: object;
  /** Up to `clientLimit` viewers (default 100), oldest first. */
  clients: ViewerStatus[];
  /** Viewers left out of `clients`. */
  clientsOmitted: number;
}

/**
 * A mount's publisher's account of its source, shown in `/status` (under `relay`: the one kind
 * of publisher that gives one is a relay, with its origin and lag). It is asked each time.
 */
export interface MountSource {
  describe(): object;
}

/** The tracks of `header` as `/status` shows them. */
export function trackStatus(header: LiveHeader): TrackStatus[] {
  return header.tracks.map(({ codecPrivate: _, ...track }) => track);
}

/**
 * Bits per second in and out, from byte counters sampled now and then: a rate is kept until
 * the next sample at least 0.2 s later, so calls closer together do not make it jitter.
 */
export class RateMeter {
  #sample: { at: number; in: number; out: number };
  #rates = { in: 0, out: 0 };

  constructor(now: number = performance.now()) {
    this.#sample = { at: now, in: 0, out: 0 };
  }

  /** Bits per second received, over the last interval. */
  get bitrateIn(): number {
    return this.#rates.in;
  }

  /** Bits per second sent, over the last interval. */
  get bitrateOut(): number {
    return this.#rates.out;
  }

  /** Updates the rates from the byte totals now. */
  sample(bytesIn: number, bytesOut: number, now: number = performance.now()): void {
    const seconds = (now - this.#sample.at) / 1000;
    if (seconds <= 0.2) return;
    this.#rates = {
      in: Math.round(((bytesIn - this.#sample.in) * 8) / seconds),
      out: Math.round(((bytesOut - this.#sample.out) * 8) / seconds),
    };
    this.#sample = { at: now, in: bytesIn, out: bytesOut };
  }
}
