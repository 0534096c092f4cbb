/**
 * A mount's viewers: who each one is, and the bytes they were handed.
 *
 * @module
 */

import type { ClientStream } from "./client_stream.ts";

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
 * it is; the bytes of viewers that left are kept as one sum, so the mount's total out stays
 * whole without keeping them.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * import { ClientStream } from "./client_stream.ts";
 * import { ViewerTable } from "./viewer_table.ts";
 * const table = new ViewerTable();
 * const client = new ClientStream(new GopRing(), new Uint8Array(4));
 * table.add(client, { id: 7, address: "192.0.2.1:5000", joinedAt: new Date() });
 * assertEquals(table.viewers().map((v) => v.id), [7]);
 * client.next();
 * table.remove(client);
 * assertEquals(table.bytesOut(), 4);
 * ```
 */
export class ViewerTable {
  #viewers = new Map<ClientStream, ViewerRecord>();
  #bytesOfGone = 0;

  /** Every viewer now, oldest first. */
  get clients(): ReadonlyMap<ClientStream, ViewerRecord> {
    return this.#viewers;
  }

  /** How many viewers are connected. */
  get size(): number {
    return this.#viewers.size;
  }

  add(client: ClientStream, record: ViewerRecord): void {
    this.#viewers.set(client, record);
  }

  /** A viewer left: its bytes join the sum of those gone. */
  remove(client: ClientStream): void {
    if (this.#viewers.delete(client)) this.#bytesOfGone += client.bytesSent;
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
