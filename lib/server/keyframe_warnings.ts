/**
 * The log lines of a source whose video stops sending keyframes, worded for mkserver's
 * operators (they name the CLI flag that bounds the buffer meanwhile).
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { MountOptions } from "../stream/mount.ts";

/**
 * Mount options that log a long keyframe gap as a warning, once per gap, and its end as info.
 * The stream layer only counts the gap (`KeyframeWatch`): what to say and which flag to name
 * belong to the program.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createLogger } from "../log.ts";
 * import { keyframeWarnings } from "./keyframe_warnings.ts";
 * const lines: string[] = [];
 * const options = keyframeWarnings(createLogger("info", (line) => lines.push(line)));
 * options.onKeyframeAfterGap?.("cam", 12);
 * assertEquals(lines[0].endsWith("INFO The source of cam sent a video keyframe again after 12 s"), true);
 * ```
 */
export function keyframeWarnings(
  log: Logger,
): Pick<MountOptions, "onLongKeyframeGap" | "onKeyframeAfterGap"> {
  return {
    onLongKeyframeGap: (mount, seconds) =>
      log.warn(
        `The source of ${mount} sent no video keyframe for ${seconds} s: new viewers wait ` +
          `for one, and the buffer keeps at most its cap (--buffer)`,
      ),
    onKeyframeAfterGap: (mount, seconds) =>
      log.info(`The source of ${mount} sent a video keyframe again after ${seconds} s`),
  };
}
