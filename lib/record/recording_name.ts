/**
 * The names of recorded files: the UTC wall-clock time of the file's first block, sortable,
 * e.g. `20261201T113239.123Z.mkv`.
 *
 * @module
 */

const NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.mkv$/;

/**
 * The file name of a recording whose first block came at `ms` (Unix milliseconds).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatRecordingName } from "./recording_name.ts";
 * assertEquals(formatRecordingName(Date.UTC(2026, 11, 1, 11, 32, 39, 123)), "20261201T113239.123Z.mkv");
 * ```
 */
export function formatRecordingName(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-01T11:32:39.123Z
  return `${iso.slice(0, 19).replace(/[-:]/g, "")}${iso.slice(19)}.mkv`;
}

/**
 * The start time a recording's file name says, or `null` for a name that is not one.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseRecordingName } from "./recording_name.ts";
 * assertEquals(parseRecordingName("20261201T113239.123Z.mkv")?.toISOString(), "2026-12-01T11:32:39.123Z");
 * assertEquals(parseRecordingName("20261301T113239.123Z.mkv"), null); // no month 13
 * assertEquals(parseRecordingName("notes.txt"), null);
 * ```
 */
export function parseRecordingName(name: string): Date | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  // Date.UTC rolls over (month 13 is next January): only a name it keeps as written is valid.
  return formatRecordingName(date.getTime()) === name ? date : null;
}
