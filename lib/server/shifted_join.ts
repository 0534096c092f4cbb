/**
 * `?from=` on a stream request: a viewer that starts in the past, from the ring or the
 * recordings, and runs on into live.
 *
 * @module
 */

import { STATUS_CODE } from "@std/http/status";
import { errorMessage, type Logger } from "../log.ts";
import type { LiveHeader } from "../matroska/live_header.ts";
import type { RecordingStore } from "../record/recordings.ts";
import type { RecordingLeadIn } from "../record/recording_lead_in.ts";
import { planShift, type ShiftPlan, type ShiftPoint } from "../record/time_shift.ts";
import type { Mount, ViewerOptions } from "../stream/mount.ts";
import { parseShiftParam, ShiftParamError } from "./shift_param.ts";
import { textResponse as text } from "./text_response.ts";

/** The `from` of a request, parsed; a `400` response for a bad one; `undefined` without one. */
export function shiftPointOf(request: Request): ShiftPoint | Response | undefined {
  const from = new URL(request.url).searchParams.get("from");
  if (from === null || from === "") return undefined;
  try {
    return parseShiftParam(from);
  } catch (error) {
    if (error instanceof ShiftParamError) return text(STATUS_CODE.BadRequest, error.message);
    throw error;
  }
}

/** Where a shifted viewer starts, and how to say it in the log. */
export interface ShiftedStart {
  options: Pick<ViewerOptions, "start" | "leadIn">;
  /** The lead-in from the recordings, if the viewer starts there. */
  recordings?: RecordingLeadIn;
  /** For the join's log line, e.g. `from the recordings (20261201T113239.123Z.mkv)`. */
  where: string;
}

/**
 * Where a viewer asking for `point` starts: its viewer options, or a `416` response naming
 * the oldest time kept when the point is older than the ring and the recordings.
 */
export async function shiftedStart(
  mount: Mount,
  header: LiveHeader,
  point: ShiftPoint,
  options: { store: RecordingStore | undefined; log: Logger },
): Promise<ShiftedStart | Response> {
  let plan: ShiftPlan;
  try {
    plan = await planShift(mount.ring, header, point, {
      store: options.store,
      mount: mount.name,
      liveEdge: mount.newestTime,
      onWarning: (message) => options.log.warn(message),
    });
  } catch (error) {
    // A recording that cannot be read (gone, cut, not Matroska) fails this join, not others.
    options.log.error(`Time-shifted join of ${mount.name} failed: ${errorMessage(error)}`);
    return text(
      STATUS_CODE.InternalServerError,
      `Cannot read the recordings: ${errorMessage(error)}`,
    );
  }
  if (plan.kind === "ring") return { options: { start: plan.start }, where: "from the buffer" };
  if (plan.kind === "recordings") {
    return {
      options: { leadIn: plan.leadIn },
      recordings: plan.leadIn,
      where: `from the recordings (${plan.recording})`,
    };
  }
  const oldest = plan.oldest?.toISOString();
  return text(
    STATUS_CODE.RangeNotSatisfiable,
    oldest === undefined
      ? "Nothing is kept that far back"
      : `Nothing is kept that far back: the oldest media kept is from ${oldest}`,
    oldest === undefined ? {} : { "x-oldest-available": oldest },
  );
}
