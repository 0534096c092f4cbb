/**
 * Counting open connections by the peer's address, for `--max-connections-per-ip`.
 *
 * @module
 */

/** Options of `PerIpLimit`. */
export interface PerIpLimitOptions {
  /** Most open connections from one address (0: no limit). */
  max: number;
  /**
   * Called when an address goes over the limit; again only once its count has come down to half
   * the limit (so a flood from one address, or one that hovers at the limit, gives one log line,
   * not one per connection).
   */
  onOver?: (address: string) => void;
}

/**
 * Open connections by remote address. `open()` counts a new connection and tells whether it is
 * within the limit; every `open()` is matched by a `close()`, whatever it answered.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PerIpLimit } from "./per_ip_limit.ts";
 * const limit = new PerIpLimit({ max: 1 });
 * assertEquals([limit.open("10.0.0.1"), limit.open("10.0.0.1"), limit.open("10.0.0.2")], [
 *   true,
 *   false,
 *   true,
 * ]);
 * limit.close("10.0.0.1");
 * limit.close("10.0.0.1");
 * assertEquals(limit.open("10.0.0.1"), true);
 * ```
 */
export class PerIpLimit {
  #max: number;
  #onOver: ((address: string) => void) | undefined;
  #open = new Map<string, number>();
  #over = new Set<string>();

  constructor(options: PerIpLimitOptions) {
    if (!Number.isInteger(options.max) || options.max < 0) {
      throw new TypeError(`The limit must be a count: ${options.max}`);
    }
    this.#max = options.max;
    this.#onOver = options.onOver;
  }

  /** Counts a connection from `address`; false when that makes more than the limit. */
  open(address: string): boolean {
    if (this.#max === 0) return true;
    const n = (this.#open.get(address) ?? 0) + 1;
    this.#open.set(address, n);
    if (n <= this.#max) return true;
    if (!this.#over.has(address)) {
      this.#over.add(address);
      this.#onOver?.(address);
    }
    return false;
  }

  /** Counts a connection from `address` closed. */
  close(address: string): void {
    if (this.#max === 0) return;
    const n = (this.#open.get(address) ?? 1) - 1;
    if (n > 0) this.#open.set(address, n);
    else this.#open.delete(address);
    if (n <= Math.floor(this.#max / 2)) this.#over.delete(address);
  }

  /** Open connections from `address`. */
  count(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
