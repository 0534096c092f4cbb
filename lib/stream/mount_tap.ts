/**
 * A second consumer of a mount's blocks, beside the ring: a packager of segments, a recorder.
 * It sees what viewers see, on the mount's timeline (after the shift that continues the stream
 * across sources), and is told when a source stops and when the mount ends.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import type { LiveHeader } from "../matroska/live_header.ts";

/** What a mount tells its tap, in order: a header, blocks, pauses between sources, the end. */
export interface MountTap {
  /** A source's header: the mount's first, or a later source's with the same tracks. */
  header(header: LiveHeader): void;
  /** A block, after the mount's time shift. */
  block(block: Block): void;
  /** The source stopped; another may continue the mount (its header comes next). */
  pause(): void;
  /** The mount ended (a mount of the same name may follow, with another track set). */
  end(): void;
}

/** Gives the tap for a mount by its name (a registry's mounts share one factory). */
export type MountTapFactory = (name: string) => MountTap | undefined;

/**
 * One factory giving each mount every tap `factories` give it (segments and recordings), each
 * told everything in the same order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { combineTaps, type MountTap } from "./mount_tap.ts";
 * const seen: string[] = [];
 * const tap = (tag: string) => (): MountTap => ({
 *   header: () => seen.push(`${tag} header`),
 *   block: () => {},
 *   pause: () => {},
 *   end: () => seen.push(`${tag} end`),
 * });
 * const both = combineTaps(tap("a"), undefined, tap("b"))?.("stream");
 * both?.end();
 * assertEquals(seen, ["a end", "b end"]);
 * ```
 */
export function combineTaps(
  ...factories: (MountTapFactory | undefined)[]
): MountTapFactory | undefined {
  const given = factories.filter((f): f is MountTapFactory => f !== undefined);
  if (given.length <= 1) return given[0];
  return (name) => {
    const taps = given.map((f) => f(name)).filter((t): t is MountTap => t !== undefined);
    return {
      header: (header) => taps.forEach((t) => t.header(header)),
      block: (block) => {
        for (const t of taps) t.block(block);
      },
      pause: () => taps.forEach((t) => t.pause()),
      end: () => taps.forEach((t) => t.end()),
    };
  };
}
