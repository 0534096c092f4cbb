/**
 * The names of recording files: `YYYYMMDDTHHMMSS.mmmZ.mkv`, the UTC time of the file's first
 * block (the recorder's layout is `DIR/NAME/<that>.mkv`).
 *
 * @module
 */

/** A recording's file name: the basic ISO 8601 form of a UTC time with milliseconds, `.mkv`. */
export const RECORDING_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.mkv$/;

/**
 * The start time a recording's file name gives, or `undefined` when `name` is not one (a name
 * that does not match exactly, or a date that does not exist such as `20261332T…`): the only
 * names the recordings routes serve, so a path can never leave the mount's folder.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseRecordingName } from "./recording_name.ts";
 * assertEquals(parseRecordingName("20261201T113239.123Z.mkv")?.toISOString(), "2026-12-01T11:32:39.123Z");
 * assertEquals(parseRecordingName("../20261201T113239.123Z.mkv"), undefined);
 * assertEquals(parseRecordingName("20261301T113239.123Z.mkv"), undefined);
 * ```
 */
export function parseRecordingName(name: string): Date | undefined {
  const m = RECORDING_NAME.exec(name);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second, ms] = m.slice(1).map(Number);
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const date = new Date(time);
  // Date.UTC rolls over (month 13 is next January): a name must say its own date.
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) return undefined;
  return date;
}

/**
 * The file name of a recording that starts at `date` (a `Date` or Unix milliseconds).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatRecordingName } from "./recording_name.ts";
 * assertEquals(formatRecordingName(new Date("2026-12-01T11:32:39.123Z")), "20261201T113239.123Z.mkv");
 * ```
 */
export function formatRecordingName(date: Date | number): string {
  return new Date(date).toISOString().replace(/[-:]/g, "") + ".mkv";
}
