/**
 * What happens to mounts, as events for someone outside to hear of (webhooks): sources that
 * publish and unpublish, viewers that play, stop or are evicted, recordings that are finished.
 *
 * @module
 */

import type { CloseReason } from "./client_stream.ts";

/** A source started publishing to a mount. */
export interface PublishEvent {
  type: "publish";
  mount: string;
  /** The source's `address:port`, when it connected over the network (a pushed source). */
  address?: string;
}

/** A source stopped publishing: what it sent, and for how long. */
export interface UnpublishEvent {
  type: "unpublish";
  mount: string;
  address?: string;
  /** Bytes this source sent (not the mount's total across sources). */
  bytes: number;
  /** Milliseconds from its publish to its end. */
  durationMs: number;
}

/** A viewer started watching a mount's stream. */
export interface PlayEvent {
  type: "play";
  mount: string;
  /** The viewer's id, as in `/status` and the admin API. */
  viewer: number;
  address: string;
}

/** How a viewer's stream ended, in a `stop` event. */
export type StopReason =
  /** The viewer closed its connection. */
  | "left"
  /** The stream ended (its source ended, or the server stopped). */
  | "ended"
  /** It fell behind the buffer with `--slow-policy drop`. */
  | "dropped"
  /** The server closed it (the admin API). */
  | "closed";

/** A viewer's stream ended: the bytes it was sent and for how long it watched. */
export interface StopEvent {
  type: "stop";
  mount: string;
  viewer: number;
  address: string;
  bytes: number;
  durationMs: number;
  reason: StopReason;
}

/** A viewer that accepted no bytes for `--stall-timeout` was disconnected (instead of `stop`). */
export interface EvictEvent {
  type: "evict";
  mount: string;
  viewer: number;
  address: string;
  bytes: number;
  durationMs: number;
}

/**
 * A recording of a mount was finished (the hook point of `--record`): the recorder emits one
 * per file it closes, whole and seekable. `main.ts` has the server's `StreamEvents` (its
 * `Webhooks`, when `--webhook` is given) to hand the recorder; nothing emits this before then.
 *
 * @example
 * ```ts
 * import type { StreamEvents } from "./stream_events.ts";
 * function fileClosed(events: StreamEvents | undefined, file: string, bytes: number, ms: number) {
 *   events?.emit({ type: "record", mount: "cam1", file, bytes, durationMs: ms });
 * }
 * fileClosed(undefined, "/srv/rec/cam1-0001.mkv", 1_048_576, 60_000);
 * ```
 */
export interface RecordEvent {
  type: "record";
  mount: string;
  /** The file's path, as the recorder wrote it. */
  file: string;
  bytes: number;
  /** Milliseconds of media in the file. */
  durationMs: number;
}

/** Any event of `StreamEvents`. */
export type StreamEvent =
  | PublishEvent
  | UnpublishEvent
  | PlayEvent
  | StopEvent
  | EvictEvent
  | RecordEvent;

/** The type of every event, in the order a mount's life usually brings them. */
export const STREAM_EVENT_TYPES: readonly StreamEvent["type"][] = [
  "publish",
  "play",
  "stop",
  "evict",
  "record",
  "unpublish",
];

/**
 * Where the server tells of events: one object passed to the parts that see them (the mount
 * registry, the HTTP handler, the recorder). `emit` must return at once and never throw: a
 * listener that is slow or failing must change nothing for the stream.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import type { StreamEvent, StreamEvents } from "./stream_events.ts";
 * const seen: StreamEvent[] = [];
 * const events: StreamEvents = { emit: (event) => seen.push(event) };
 * events.emit({ type: "publish", mount: "cam1" });
 * assertEquals(seen.map((e) => e.type), ["publish"]);
 * ```
 */
export interface StreamEvents {
  emit(event: StreamEvent): void;
}

/** A viewer's `CloseReason` as a `stop` event tells it. */
const STOP_REASON: Record<CloseReason, StopReason> = {
  cancel: "left",
  end: "ended",
  drop: "dropped",
  close: "closed",
};

/** Who a viewer was, for `viewerEndEvent`. */
export interface ViewerIdentity {
  mount: string;
  viewer: number;
  address: string;
  /** When it joined (`performance.now()`). */
  since: number;
}

/**
 * The event that ends a viewer: `evict` when the server disconnected it for not reading,
 * else `stop` with why its stream closed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { viewerEndEvent } from "./stream_events.ts";
 * const who = { mount: "cam1", viewer: 7, address: "192.0.2.1:5000", since: performance.now() };
 * const stop = viewerEndEvent(who, { bytes: 10, reason: "cancel", evicted: false });
 * assertEquals([stop.type, "reason" in stop && stop.reason], ["stop", "left"]);
 * assertEquals(viewerEndEvent(who, { bytes: 10, reason: "cancel", evicted: true }).type, "evict");
 * ```
 */
export function viewerEndEvent(
  who: ViewerIdentity,
  end: { bytes: number; reason: CloseReason; evicted: boolean },
): StopEvent | EvictEvent {
  const { since, ...viewer } = who;
  const ended = { ...viewer, bytes: end.bytes, durationMs: Math.round(performance.now() - since) };
  return end.evicted
    ? { type: "evict", ...ended }
    : { type: "stop", ...ended, reason: STOP_REASON[end.reason] };
}
