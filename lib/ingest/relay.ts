/**
 * Edges: pulling mounts from an origin mkserver (one, or every mount it lists with
 * `--relay-all`), and telling how far behind the origin each one is.
 *
 * @module
 */

import { sleep } from "./_timing.ts";
import { type Logger, SILENT } from "../log.ts";
import type { Mount } from "../stream/mount.ts";
import type { MountRegistry } from "../stream/mount_registry.ts";
import { ingest } from "./ingest.ts";
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

/**
 * Pulls one origin mount into `registry` under the same name until `signal` aborts or the
 * origin drops it for good; reconnects meanwhile, and the mount continues across reconnects.
 */
export async function relayMount(
  registry: MountRegistry,
  base: string,
  name: string,
  options: RelayOptions = {},
): Promise<void> {
  const log = options.log ?? SILENT;
  const url = mountUrl(base, name);
  const status: RelayStatus = { url, state: "connecting", lagSeconds: null, reconnects: 0 };
  let restart = false;
  const source = await openUrlSource(url, {
    reconnect: options.reconnect ?? true,
    idleTimeout: options.idleTimeout,
    log,
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
  const publication = registry.publish(name);
  publication.mount.source = { describe: () => ({ ...status }) };
  const lag = trackLag(() => registry.get(name), status, { base, mount: name }, options);
  try {
    await ingest(source, publication, {
      log,
      signal: options.signal,
      shouldRestart: () => {
        const r = restart;
        restart = false;
        return r;
      },
    });
  } finally {
    status.state = "ended";
    publication.finish();
    await lag;
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
        const done = relayMount(registry, base, name, { ...options, signal })
          .catch((error) =>
            log.warn(`Relay of ${name} failed: ${(error as Error)?.message ?? error}`)
          )
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
