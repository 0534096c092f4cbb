/**
 * Named mounts: the CLI's default stream and the sources pushed to `/live/NAME`.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import type { Block } from "../matroska/block.ts";
import type { LiveHeader } from "../matroska/live_header.ts";
import { Mount, type MountOptions } from "./mount.ts";
import type { StreamEvents } from "./stream_events.ts";

/** What an ingest writes into: a mount, or a publication that picks its mount by the header. */
export interface IngestSink {
  setHeader(header: LiveHeader): void;
  pushBlock(block: Block): void;
  countBytesIn(n: number): void;
  /** The source's Cluster ended (a mount without a delivery clock sends its open Cluster now). */
  endCluster?(): void;
}

/** `MountRegistryOptions.grace` when not given: 10 s (also the CLI's `--source-grace` default). */
export const DEFAULT_GRACE = 10_000;

/** Options of `MountRegistry`. */
export interface MountRegistryOptions {
  /** Options of every mount the registry creates. */
  mountOptions?: MountOptions;
  /**
   * Milliseconds a mount whose source ended keeps its viewers, waiting for a source with the
   * same tracks to continue it (default 10,000). 0 ends it at once.
   */
  grace?: number;
  log?: Logger;
  /** Told of every source that publishes and unpublishes (webhooks). */
  events?: StreamEvents;
}

/** Options of `MountRegistry.publish`: who the source is. */
export interface PublishOptions {
  /** The source's `address:port`, when it connected over the network. */
  address?: string;
}

/** A source's claim on a mount name, from `MountRegistry.publish`. */
export interface Publication extends IngestSink {
  /** The mount the source feeds (it changes when a source brings different tracks). */
  readonly mount: Mount;
  /** The source is done: the mount waits out the grace period, then ends. */
  finish(): void;
}

/** A mount name is busy: another source is publishing to it. */
export class MountBusyError extends Error {
  constructor(name: string) {
    super(`Mount ${name} already has a source`);
    this.name = "MountBusyError";
  }
}

/** Valid mount names: what fits in a URL path segment without escaping. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The server's mounts by name. A source publishes to a name (one at a time); when it ends, its
 * viewers wait `grace` ms for a source with the same tracks, which continues their stream
 * without a second header; a source with other tracks (or another CodecPrivate: another H.264
 * SPS/PPS, say) ends them cleanly and starts a new mount.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { MountRegistry } from "./mount_registry.ts";
 * const registry = new MountRegistry({ grace: 0 });
 * const publication = registry.publish("cam1");
 * assertEquals(registry.get("cam1")?.name, "cam1");
 * publication.finish();
 * assertEquals(registry.get("cam1"), undefined);
 * ```
 */
export class MountRegistry {
  #mounts = new Map<string, Mount>();
  #publishers = new Set<string>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #waiting = new Map<string, Array<(mount: Mount) => void>>();
  #options: MountOptions;
  #grace: number;
  #log: Logger;
  #events: StreamEvents | undefined;

  constructor(options: MountRegistryOptions = {}) {
    let id = 1;
    this.#options = { ...options.mountOptions, nextViewerId: () => id++ };
    this.#grace = options.grace ?? DEFAULT_GRACE;
    if (!(this.#grace >= 0)) throw new TypeError(`Invalid grace: ${this.#grace}`);
    this.#log = options.log ?? SILENT;
    this.#events = options.events;
  }

  /** Whether `name` can name a mount. */
  static isValidName(name: string): boolean {
    return NAME.test(name);
  }

  /** The mount named `name`, if it exists. */
  get(name: string): Mount | undefined {
    return this.#mounts.get(name);
  }

  /**
   * The mount named `name`: at once if it exists, else when a source publishes to it, or
   * `undefined` after `timeout` ms (a viewer may come before its source).
   */
  async waitFor(name: string, timeout: number): Promise<Mount | undefined> {
    const now = this.#mounts.get(name);
    if (now !== undefined) return now;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let found: ((mount: Mount) => void) | undefined;
    try {
      return await new Promise<Mount | undefined>((resolve) => {
        found = resolve;
        const list = this.#waiting.get(name) ?? [];
        list.push(resolve);
        this.#waiting.set(name, list);
        timer = setTimeout(() => resolve(undefined), timeout);
      });
    } finally {
      clearTimeout(timer);
      const list = this.#waiting.get(name)?.filter((w) => w !== found) ?? [];
      if (list.length > 0) this.#waiting.set(name, list);
      else this.#waiting.delete(name);
    }
  }

  /** Every mount, in creation order. */
  list(): Mount[] {
    return [...this.#mounts.values()];
  }

  /** Whether a source is publishing to `name` now. */
  isPublishing(name: string): boolean {
    return this.#publishers.has(name);
  }

  /** Creates and adds a mount with the registry's options (the CLI's default mount). */
  create(name: string): Mount {
    if (!NAME.test(name)) throw new TypeError(`Invalid mount name: ${name}`);
    const mount = new Mount(name, this.#options);
    this.add(mount);
    return mount;
  }

  /** Adds a mount created elsewhere. */
  add(mount: Mount): void {
    if (this.#mounts.has(mount.name)) throw new TypeError(`Mount ${mount.name} exists already`);
    this.#mounts.set(mount.name, mount);
  }

  /**
   * Claims `name` for a new source. The mount is created (waiting for its header) if it does
   * not exist, or taken over if it waits out a grace period. `events` hears a `publish` now
   * and an `unpublish` (with the bytes this source sent) when the publication finishes.
   *
   * @throws {MountBusyError} when another source publishes to `name`
   * @throws {TypeError} for an invalid name
   */
  publish(name: string, options: PublishOptions = {}): Publication {
    if (!NAME.test(name)) throw new TypeError(`Invalid mount name: ${name}`);
    if (this.#publishers.has(name)) throw new MountBusyError(name);
    this.#publishers.add(name);
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
    const existing = this.#mounts.get(name);
    let mount: Mount = existing === undefined || existing.ended
      ? new Mount(name, this.#options)
      : existing;
    this.#mounts.set(name, mount);
    for (const wake of this.#waiting.get(name) ?? []) wake(mount);
    let finished = false;
    let bytes = 0;
    const since = performance.now();
    const { address } = options;
    this.#events?.emit({ type: "publish", mount: name, address });
    const publication: Publication = {
      get mount() {
        return mount;
      },
      setHeader: (header) => {
        const current = mount;
        if (current.header !== undefined && !current.accepts(header)) {
          // Other tracks: the old stream ends cleanly for its viewers; a new one begins.
          this.#log.info(
            `Mount ${name}: the new source has other tracks or codec setup; starting a new stream`,
          );
          current.end();
          mount = new Mount(name, this.#options);
          this.#mounts.set(name, mount);
        } else if (current.header !== undefined) {
          this.#log.info(`Mount ${name}: a source with the same tracks continues the stream`);
        }
        mount.setHeader(header);
      },
      pushBlock: (block) => mount.pushBlock(block),
      endCluster: () => mount.endCluster(),
      countBytesIn: (n) => {
        bytes += n;
        mount.countBytesIn(n);
      },
      finish: () => {
        if (finished) return;
        finished = true;
        this.#publishers.delete(name);
        mount.pauseSource();
        const durationMs = Math.round(performance.now() - since);
        this.#events?.emit({ type: "unpublish", mount: name, address, bytes, durationMs });
        this.#endLater(name, mount);
      },
    };
    return publication;
  }

  /** Ends every mount now (shutdown). */
  endAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const mount of this.#mounts.values()) mount.end();
  }

  #endLater(name: string, mount: Mount): void {
    const end = () => {
      this.#timers.delete(name);
      if (this.#publishers.has(name) || this.#mounts.get(name) !== mount) return;
      // Ended through the admin API: no grace.
      mount.end();
      this.#mounts.delete(name);
      this.#log.info(`Mount ${name} ended`);
    };
    if (
      this.#grace === 0 || mount.header === undefined || mount.ended || mount.stopSignal.aborted
    ) return end();
    this.#log.info(`Mount ${name}: source gone; keeping its viewers for ${this.#grace / 1000} s`);
    const timer = setTimeout(end, this.#grace);
    this.#timers.set(name, timer);
  }
}
