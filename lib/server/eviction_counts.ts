/**
 * Stall evictions, counted where they happen: in the server that closes a stalled viewer's
 * connection, by the name of the mount it watched.
 *
 * @module
 */

import type { ClientStream } from "../stream/client_stream.ts";
import type { Mount, MountStatus } from "../stream/mount.ts";

/**
 * Viewers disconnected for not reading, per mount name. A name's count outlives its mount (a
 * mount that ends and is published again counts on), as a Prometheus counter should.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { EvictionCounts } from "./eviction_counts.ts";
 * const counts = new EvictionCounts();
 * counts.count("cam1");
 * assertEquals([counts.of("cam1"), counts.of("cam2")], [1, 0]);
 * assertEquals(counts.statusOf(new Mount("cam1")).evictions, 1);
 * ```
 */
export class EvictionCounts {
  #byMount = new Map<string, number>();
  #evicted = new WeakSet<ClientStream>();

  /**
   * Counts one eviction of a viewer of mount `name`; with its `client`, remembers it so that
   * the viewer's end can be told apart from one that left (`wasEvicted`).
   */
  count(name: string, client?: ClientStream): void {
    this.#byMount.set(name, this.of(name) + 1);
    if (client !== undefined) this.#evicted.add(client);
  }

  /** Whether `client` was disconnected for not reading (counted with it). */
  wasEvicted(client: ClientStream): boolean {
    return this.#evicted.has(client);
  }

  /** Evictions of viewers of mount `name` so far. */
  of(name: string): number {
    return this.#byMount.get(name) ?? 0;
  }

  /** `mount.status(clientLimit)` with this count as its `evictions`. */
  statusOf(mount: Mount, clientLimit?: number): MountStatus {
    return { ...mount.status(clientLimit), evictions: this.of(mount.name) };
  }
}
