/**
 * One packager per mount name, fed through the mounts' taps. It outlives a mount that a source
 * with another CodecPrivate replaces (its segments go on behind a discontinuity), and is dropped
 * once its mount has ended and its segments have expired.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import type { LiveHeader } from "../matroska/live_header.ts";
import { Packager, type PackagerOptions } from "../package/packager.ts";
import type { MountTap } from "../stream/mount_tap.ts";
import { type Logger, SILENT } from "../log.ts";

/** The packagers of a server's mounts, by name. */
export class PackagerTable {
  readonly #options: PackagerOptions;
  readonly #byName = new Map<string, Packager>();
  readonly #expiry = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #ending = new Set<string>();
  /** Mounts whose source is away: the timers that publish their gap segments. */
  readonly #gaps = new Map<string, ReturnType<typeof setInterval>>();

  readonly #log: Logger;
  /** Packagers that threw: they take nothing more until a new source's header replaces them. */
  readonly #failed = new WeakSet<Packager>();

  constructor(options: PackagerOptions = {}, log: Logger = SILENT) {
    this.#options = options;
    this.#log = log;
  }

  /** The packager of mount `name`, while it has one. */
  get(name: string): Packager | undefined {
    return this.#byName.get(name);
  }

  /** Bytes held by every packager (for `/status`). */
  get byteLength(): number {
    let n = 0;
    for (const p of this.#byName.values()) n += p.byteLength;
    return n;
  }

  /** The tap of a mount named `name` (a `MountTapFactory`). */
  tap = (name: string): MountTap => {
    const packager = () => {
      clearTimeout(this.#expiry.get(name));
      this.#expiry.delete(name);
      let p = this.#byName.get(name);
      if (!p || this.#failed.has(p)) {
        p = new Packager(this.#options);
        this.#byName.set(name, p);
      }
      return p;
    };
    return {
      header: (header: LiveHeader) => {
        this.#ending.delete(name);
        this.#stopGap(name);
        const p = packager();
        this.#guard(name, p, () => p.setHeader(header));
      },
      block: (block: Block) => {
        const p = this.#byName.get(name);
        if (p && !this.#failed.has(p)) this.#guard(name, p, () => p.push(block));
      },
      pause: () => {
        const p = this.#byName.get(name);
        if (!p || this.#failed.has(p)) return;
        this.#guard(name, p, () => p.sourceEnded());
        this.#startGap(name, p);
      },
      end: () => {
        const p = this.#byName.get(name);
        if (!p) return;
        this.#stopGap(name);
        p.sourceEnded();
        // A mount's end may be its replacement's start: a source with another CodecPrivate ends
        // the old mount and sets its header on the new one in the same call. So an end takes
        // effect only if no header follows in the same task.
        this.#ending.add(name);
        queueMicrotask(() => {
          if (!this.#ending.delete(name)) return;
          p.end();
          this.#expireLater(name, p);
        });
      },
    };
  };

  /**
   * Runs a step of a packager. A packager that throws (a stream it cannot package) stops making
   * segments, with one error line, and ends its playlists; the mount, its source and its
   * progressive viewers go on, which they would not if the error reached the ingest.
   */
  #guard(name: string, packager: Packager, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#failed.add(packager);
      this.#stopGap(name);
      this.#log.error(
        `Segments of /live/${name} stopped: ${(error as Error)?.message ?? error}; ` +
          "the progressive stream goes on",
      );
      try {
        packager.end();
      } catch {
        // Ending what failed may fail the same way: its playlists stay as they were.
      }
    }
  }

  /** While the source is away, gap segments are published as their time passes. */
  #startGap(name: string, packager: Packager): void {
    this.#stopGap(name);
    const timer = setInterval(() => this.#guard(name, packager, () => packager.fillGap()), 250);
    Deno.unrefTimer(timer);
    this.#gaps.set(name, timer);
  }

  #stopGap(name: string): void {
    clearInterval(this.#gaps.get(name));
    this.#gaps.delete(name);
  }

  #expireLater(name: string, packager: Packager): void {
    const timer = setTimeout(() => {
      if (this.#byName.get(name) === packager) this.#byName.delete(name);
      this.#expiry.delete(name);
    }, packager.keepSeconds * 1000);
    Deno.unrefTimer(timer);
    this.#expiry.set(name, timer);
  }
}
