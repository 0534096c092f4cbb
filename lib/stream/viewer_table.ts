/**
 * A mount's viewers: who each one is, and the bytes they were handed.
 *
 * @module
 */

import { ClientStream, type ClientStreamOptions } from "./client_stream.ts";
import type { GopRing } from "./gop_ring.ts";
import type { WireBytes } from "./wire_format.ts";

/** Who a viewer is, for `Mount.attach`. */
export interface ViewerOptions extends ClientStreamOptions {
  /** The viewer's address, for status and logs. */
  address?: string;
}

/** Who a viewer is. */
export interface ViewerRecord {
  readonly id: number;
  /** The viewer's address, for status and logs. */
  readonly address: string;
  readonly joinedAt: Date;
}

/** One viewer, for `/status` and the admin API. */
export interface ViewerStatus {
  id: number;
  address: string;
  /** When it joined (ISO 8601). */
  joinedAt: string;
  bytesSent: number;
  skips: number;
}

/**
 * The viewers connected to a mount, oldest first, in one map from each viewer's stream to who
 * it is. A viewer leaves the table when its stream closes; the bytes of viewers gone are kept
 * as one sum, and their skips as another, so the mount's totals stay whole.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * import { ViewerTable } from "./viewer_table.ts";
 * const ring = new GopRing();
 * const table = new ViewerTable();
 * const client = table.attach(ring, new Uint8Array(4), { address: "192.0.2.1:5000" });
 * assertEquals(table.viewers().map((v) => v.address), ["192.0.2.1:5000"]);
 * client.next();
 * client.close();
 * assertEquals([table.size, table.bytesOut()], [0, 4]);
 * ```
 */
export class ViewerTable {
  #viewers = new Map<ClientStream, ViewerRecord>();
  #bytesOfGone = 0;
  #skips = 0;
  #nextId: () => number;

  /** `nextId` gives viewer ids (default: a counter of this table's own). */
  constructor(nextId?: () => number) {
    let id = 1;
    this.#nextId = nextId ?? (() => id++);
  }

  /**
   * A new viewer of `ring`, starting with `header` (see `ClientStream`), in the table until its
   * stream closes; `options`' callbacks are called after the table's own bookkeeping.
   */
  attach(ring: GopRing, header: Uint8Array | WireBytes, options: ViewerOptions = {}): ClientStream {
    const { address, ...streamOptions } = options;
    const client = new ClientStream(ring, header, {
      ...streamOptions,
      onSkip: (c) => {
        this.#skips++;
        options.onSkip?.(c);
      },
      onClose: (c, reason) => {
        if (this.#viewers.delete(c)) this.#bytesOfGone += c.bytesSent;
        options.onClose?.(c, reason);
      },
    });
    this.#viewers.set(client, {
      id: this.#nextId(),
      address: address ?? "unknown",
      joinedAt: new Date(),
    });
    return client;
  }

  /** Every viewer now, oldest first. */
  get clients(): ReadonlyMap<ClientStream, ViewerRecord> {
    return this.#viewers;
  }

  /** How many viewers are connected. */
  get size(): number {
    return this.#viewers.size;
  }

  /** Times any viewer, gone or connected, fell behind and skipped to the newest keyframe. */
  get skips(): number {
    return this.#skips;
  }

  /** The id of a viewer in the table. */
  idOf(client: ClientStream): number | undefined {
    return this.#viewers.get(client)?.id;
  }

  /** The viewer with `id`, if it is connected. */
  find(id: number): ClientStream | undefined {
    for (const [client, v] of this.#viewers) if (v.id === id) return client;
    return undefined;
  }

  /** Payload bytes handed to every viewer, gone or connected. */
  bytesOut(): number {
    let bytes = this.#bytesOfGone;
    for (const client of this.#viewers.keys()) bytes += client.bytesSent;
    return bytes;
  }

  /** Up to `limit` viewers, oldest first. */
  viewers(limit = Infinity): ViewerStatus[] {
    const out: ViewerStatus[] = [];
    for (const [client, v] of this.#viewers) {
      if (out.length >= limit) break;
      out.push({
        id: v.id,
        address: v.address,
        joinedAt: v.joinedAt.toISOString(),
        bytesSent: client.bytesSent,
        skips: client.skips,
      });
    }
    return out;
  }
}
