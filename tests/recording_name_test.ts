import { assertEquals } from "@std/assert";
import { formatRecordingName, parseRecordingName } from "../lib/record/recording_name.ts";

Deno.test("parseRecordingName takes the recorder's names only, with dates that exist", () => {
  const good: [string, string][] = [
    ["20261201T113239.123Z.mkv", "2026-12-01T11:32:39.123Z"],
    ["20240229T000000.000Z.mkv", "2024-02-29T00:00:00.000Z"],
    ["19991231T235959.999Z.mkv", "1999-12-31T23:59:59.999Z"],
  ];
  for (const [name, iso] of good) assertEquals(parseRecordingName(name)?.toISOString(), iso);
  for (
    const name of [
      "",
      "20261201T113239.123Z.webm",
      "20261201T113239Z.mkv",
      "20261201T113239.123Z.mkv/",
      "../20261201T113239.123Z.mkv",
      "20261201T113239.123Z.mkv\0",
      "x20261201T113239.123Z.mkv",
      "20230229T000000.000Z.mkv", // not a leap year
      "20261201T243000.000Z.mkv",
      "20261201T116000.000Z.mkv",
      "20261232T000000.000Z.mkv",
    ]
  ) {
    assertEquals(parseRecordingName(name), undefined, JSON.stringify(name));
  }
});

Deno.test("formatRecordingName and parseRecordingName round-trip", () => {
  for (const time of [0, 1_700_000_000_123, Date.UTC(2026, 11, 1, 11, 32, 39, 123)]) {
    const date = new Date(time);
    assertEquals(parseRecordingName(formatRecordingName(date))?.getTime(), time);
  }
});
