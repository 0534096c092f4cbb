/**
 * The `from` query parameter of a time-shifted join: `-60s` (behind the newest media) or an ISO
 * 8601 time.
 *
 * @module
 */

import type { ShiftPoint } from "../record/time_shift.ts";

/** A `from` value that is neither form. */
export class ShiftParamError extends TypeError {
  override name = "ShiftParamError";
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const AGO = /^-(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
/** A date and time with its zone (a time without one would be the server's guess). */
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** The form a bad value is told to take. */
const FORMS = "expected a time back such as -60s, -2m, -1h or -90, or an ISO 8601 time " +
  "with its zone such as 2026-12-01T11:32:39Z";

/**
 * Parses `from`: `-N` seconds, `-Nms`/`-Ns`/`-Nm`/`-Nh`, or an ISO 8601 date and time with
 * `Z` or an offset (a `+` that the query string turned into a space is taken back).
 *
 * @throws {ShiftParamError} for anything else, with a message that says the forms
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseShiftParam } from "./shift_param.ts";
 * assertEquals(parseShiftParam("-60s"), { ago: 60_000 });
 * assertEquals(parseShiftParam("-1.5m"), { ago: 90_000 });
 * assertEquals(parseShiftParam("2026-12-01T11:32:39Z"), { at: new Date("2026-12-01T11:32:39Z") });
 * assertThrows(() => parseShiftParam("60s"));
 * ```
 */
export function parseShiftParam(value: string): ShiftPoint {
  const text = value.trim().replace(/ (\d{2}:?\d{2})$/, "+$1");
  const ago = AGO.exec(text);
  if (ago) {
    const ms = Number(ago[1]) * UNITS[ago[2] ?? "s"];
    if (!Number.isFinite(ms)) throw new ShiftParamError(`Invalid from: ${value} (${FORMS})`);
    return { ago: ms };
  }
  if (ISO.test(text)) {
    const at = new Date(text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    if (!Number.isNaN(at.getTime())) return { at };
  }
  throw new ShiftParamError(`Invalid from: ${JSON.stringify(value)} (${FORMS})`);
}
