import { assertEquals, assertThrows } from "@std/assert";
import { parseShiftParam, ShiftParamError } from "../lib/server/shift_param.ts";

Deno.test("parseShiftParam reads a time back in ms, s, m or h, seconds by default", () => {
  const table: [string, number][] = [
    ["-60s", 60_000],
    ["-60", 60_000],
    ["-1.5m", 90_000],
    ["-2h", 7_200_000],
    ["-250ms", 250],
    ["-0s", 0],
    [" -10s ", 10_000],
  ];
  for (const [value, ago] of table) assertEquals(parseShiftParam(value), { ago }, value);
});

Deno.test("parseShiftParam reads ISO 8601 times with their zone, and a + the query string made a space", () => {
  const table: [string, string][] = [
    ["2026-12-01T11:32:39Z", "2026-12-01T11:32:39.000Z"],
    ["2026-12-01T11:32:39.123Z", "2026-12-01T11:32:39.123Z"],
    ["2026-12-01T11:32Z", "2026-12-01T11:32:00.000Z"],
    ["2026-12-01T12:32:39+01:00", "2026-12-01T11:32:39.000Z"],
    ["2026-12-01T12:32:39+0100", "2026-12-01T11:32:39.000Z"],
    ["2026-12-01T12:32:39 01:00", "2026-12-01T11:32:39.000Z"],
    ["2026-12-01T06:32:39-05:00", "2026-12-01T11:32:39.000Z"],
  ];
  for (const [value, iso] of table) {
    const point = parseShiftParam(value);
    assertEquals("at" in point && point.at.toISOString(), iso, value);
  }
});

Deno.test("parseShiftParam refuses anything else with a message that says the forms", () => {
  for (
    const value of [
      "60s",
      "+60s",
      "-s",
      "-60x",
      "--60",
      "yesterday",
      "2026-12-01",
      "2026-12-01T11:32:39", // no zone: whose clock?
      "2026-13-01T11:32:39Z",
      "2026-12-01T11:32:39Zjunk",
      "-1e3s",
    ]
  ) {
    const error = assertThrows(() => parseShiftParam(value), ShiftParamError);
    assertEquals(error.message.startsWith("Invalid from: "), true, value);
    assertEquals(error.message.includes("-60s"), true);
  }
});
