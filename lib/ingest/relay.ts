/**
 * Edges: pulling mounts from an origin mkserver (one, or every mount it lists with
 * `--relay-all`), and telling how far behind the origin each one is.
 *
 * @module
 */

import { sleep } from "./_timing.ts";
import { errorMessage, type Logger, SILENT } from "../log.ts";
import type { Mount } from "../stream/mount.ts";
import type { MountRegistry, Publication } from "../stream/mount_registry.ts";
import { ingest, type IngestOptions, type IngestResult } from "./ingest.ts";
import { openUrlSource } from "./url_source.ts";

/** Where a relayed mount pulls from (an edge's view of its origin), as `/status` shows it. */
export interface RelayStatus {
  url: string;
  state: "connecting" | "live" | "reconnecting" | "ended";
  /** Seconds the mount's newest block is behind the origin's newest, or null when unknown. */
  lagSeconds: number | null;
  /** Times the pull reconnected. */
  reconnects: number;
}

/** An origin mount as its `/status` lists it. */
interface OriginMount {
  name: string;
  state: string;
  liveTime?: number;
}

/** Where an origin's `/status` is, and which of its mounts a stream URL names. */
export function originOf(streamUrl: string): { base: string; mount: string } {
  const url = new URL(streamUrl);
  const live = /^\/live\/([^/]+)$/.exec(url.pathname);
  return { base: url.origin, mount: live ? decodeURIComponent(live[1]) : "stream" };
}

/** The URL an edge pulls an origin mount from. */
export function mountUrl(base: string, name: string): string {
  return name === "stream" ? `${base}/stream` : `${base}/live/${encodeURIComponent(name)}`;
}

async function fetchStatus(
  base: string,
  fetchFn: typeof fetch,
  signal?: AbortSignal,
): Promise<OriginMount[] | undefined> {
  try {
    const response = await fetchFn(`${base}/status`, {
      signal: AbortSignal.any([AbortSignal.timeout(5000), ...(signal ? [signal] : [])]),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const json = await response.json();
    return Array.isArray(json?.mounts) ? json.mounts : undefined;
  } catch {
    return undefined; // not an mkserver, or unreachable for now
  }
}

/** Options of `trackLag` and `relayAll`. */
export interface RelayOptions {
  log?: Logger;
  signal?: AbortSignal;
  /** How often to ask the origin for its `/status`, in ms (default 2000). */
  interval?: number;
  /** Reconnect a dropped pull (default true). */
  reconnect?: boolean;
  /** A pull that delivers nothing for this long (ms) counts as dropped (see `openUrlSource`). */
  idleTimeout?: number;
  /** The `fetch` to use (tests). */
  fetch?: typeof fetch;
}

/**
 * Keeps `status.lagSeconds` current: every `interval`, the origin mount's newest block
 * time (from its `/status`) minus the newest this mount received, in the origin's timeline.
 * Unknown (null) when the origin is not an mkserver. Returns when `signal` aborts.
 */
export async function trackLag(
  mount: () => Mount | undefined,
  status: RelayStatus,
  origin: { base: string; mount: string },
  options: RelayOptions = {},
): Promise<void> {
  const fetchFn = options.fetch ?? fetch;
  const interval = options.interval ?? 2000;
  while (!options.signal?.aborted) {
    const mounts = await fetchStatus(origin.base, fetchFn, options.signal);
    const theirs = mounts?.find((m) => m.name === origin.mount);
    const ours = mount()?.status(0);
    status.lagSeconds = theirs?.liveTime !== undefined && ours !== undefined && ours.sourceTime > 0
      ? Math.max(0, Math.round((theirs.liveTime - ours.sourceTime) * 1000) / 1000)
      : null;
    await sleep(interval, options.signal);
  }
}

/** Options of `openPull` and `relayMount`. */
export interface PullOptions extends RelayOptions {
  /**
   * A step between the pull and the parser, run once connected: e.g. the CLI's check that the
   * stream is Matroska, which hands anything else to ffmpeg. Default: none.
   */
  remux?: (source: ReadableStream<Uint8Array>) => Promise<ReadableStream<Uint8Array>>;
  /** Where to ask for the lag: an origin's base URL and mount name (default `originOf(url)`). */
  origin?: { base: string; mount: string };
}

/** A connected pull from an origin (see `openPull`). */
export interface OriginPull {
  /** Where it pulls from. */
  readonly url: string;
  /** Its state, for the mount's `/status`. */
  readonly status: RelayStatus;
  /** Its bytes, across reconnections. */
  readonly source: ReadableStream<Uint8Array>;
  /** The origin whose `/status` tells the lag. */
  readonly origin: { base: string; mount: string };
  /** For `ingest`: true once per reconnection, so the parser starts over on the new header. */
  shouldRestart(): boolean;
}

/**
 * Connects to `url` (resolving once the origin answered; reconnects afterwards as
 * `openUrlSource` does), counting reconnections in the pull's status. Throws when the first
 * attempt fails, or what `options.remux` throws.
 */
export async function openPull(url: string, options: PullOptions = {}): Promise<OriginPull> {
  const status: RelayStatus = { url, state: "connecting", lagSeconds: null, reconnects: 0 };
  let restart = false;
  const pulled = await openUrlSource(url, {
    reconnect: options.reconnect ?? true,
    idleTimeout: options.idleTimeout,
    log: options.log ?? SILENT,
    signal: options.signal,
    fetch: options.fetch,
    onConnect: (n) => {
      status.state = "live";
      if (n > 1) {
        restart = true;
        status.reconnects++;
      }
    },
  });
  const source = options.remux ? await options.remux(pulled) : pulled;
  const shouldRestart = () => {
    const r = restart;
    restart = false;
    return r;
  };
  return { url, status, source, origin: options.origin ?? originOf(url), shouldRestart };
}

/** Options of `feedPull`: the ingest's, and how to ask the origin for its lag. */
export type FeedOptions =
  & Omit<IngestOptions, "shouldRestart">
  & Pick<RelayOptions, "interval" | "fetch">;

/**
 * Ingests a pull into `publication`, showing its state on the mount and keeping its lag behind
 * the origin current meanwhile; the state is "ended" once the ingest ends. Leaves the
 * publication to the caller (an edge keeps a grace period; the CLI ends its stream at once).
 */
export async function feedPull(
  pull: OriginPull,
  publication: Publication,
  options: FeedOptions = {},
): Promise<IngestResult> {
  const lagStop = new AbortController();
  publication.mount.source = { describe: () => ({ ...pull.status }) };
  const lag = trackLag(() => publication.mount, pull.status, pull.origin, {
    interval: options.interval,
    fetch: options.fetch,
    signal: options.signal ? AbortSignal.any([lagStop.signal, options.signal]) : lagStop.signal,
  });
  try {
    return await ingest(pull.source, publication, {
      ...options,
      shouldRestart: pull.shouldRestart,
    });
  } finally {
    lagStop.abort();
    pull.status.state = "ended";
    await lag;
  }
}

/**
 * Pulls `url` (an origin's mount, or any stream) into `registry` as mount `name` until `signal`
 * aborts or the pull ends for good; reconnects meanwhile, and the mount continues across
 * reconnects. `relayAll` runs one per origin mount; the CLI's http(s) INPUT runs the same two
 * halves, `openPull` before it listens and `feedPull` after.
 */
export async function relayMount(
  registry: MountRegistry,
  url: string,
  name: string,
  options: PullOptions = {},
): Promise<IngestResult> {
  const pull = await openPull(url, options);
  const publication = registry.publish(name);
  try {
    return await feedPull(pull, publication, options);
  } finally {
    publication.finish();
  }
}

/**
 * Mirrors every mount an origin lists in `/status`, following mounts as they appear and end:
 * an edge. Runs until `signal` aborts.
 */
export async function relayAll(
  registry: MountRegistry,
  base: string,
  options: RelayOptions = {},
): Promise<void> {
  const log = options.log ?? SILENT;
  const fetchFn = options.fetch ?? fetch;
  const interval = options.interval ?? 2000;
  const running = new Map<string, { stop: AbortController; done: Promise<void> }>();
  while (!options.signal?.aborted) {
    const mounts = await fetchStatus(base, fetchFn, options.signal);
    if (mounts !== undefined) {
      const live = new Set(mounts.filter((m) => m.state !== "ended").map((m) => m.name));
      for (const name of live) {
        if (running.has(name) || registry.isPublishing(name)) continue;
        log.info(`Relaying ${mountUrl(base, name)}`);
        const stop = new AbortController();
        const signal = options.signal
          ? AbortSignal.any([stop.signal, options.signal])
          : stop.signal;
        const done = relayMount(registry, mountUrl(base, name), name, {
          ...options,
          origin: { base, mount: name },
          signal,
        })
          .then(() => {}, (error) => log.warn(`Relay of ${name} failed: ${errorMessage(error)}`))
          .finally(() => running.delete(name));
        running.set(name, { stop, done });
      }
      for (const [name, relay] of running) {
        if (!live.has(name)) {
          log.info(`The origin ended ${name}: ending its relay`);
          relay.stop.abort();
        }
      }
    }
    await sleep(interval, options.signal);
  }
  await Promise.all([...running.values()].map((r) => r.done));
}
