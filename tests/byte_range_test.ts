import { assertEquals } from "@std/assert";
import { etagMatches, parseByteRange } from "../lib/server/byte_range.ts";

Deno.test("parseByteRange: satisfiable, unsatisfiable, and ignored ranges (RFC 9110, 14)", () => {
  const size = 1000;
  const table: [string | null, ReturnType<typeof parseByteRange>][] = [
    [null, undefined],
    ["bytes=0-0", { start: 0, end: 0 }],
    ["bytes=0-999", { start: 0, end: 999 }],
    ["bytes=0-5000", { start: 0, end: 999 }],
    ["bytes=999-", { start: 999, end: 999 }],
    ["bytes=-1", { start: 999, end: 999 }],
    ["bytes=-5000", { start: 0, end: 999 }],
    ["BYTES=1-2", { start: 1, end: 2 }],
    ["bytes=1000-", "unsatisfiable"],
    ["bytes=1000-2000", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=5-4", undefined], // invalid: ignored
    ["bytes=-", undefined],
    ["bytes=0-1,5-6", undefined], // several ranges: the whole file
    ["bytes=a-b", undefined],
    ["items=0-1", undefined],
    ["bytes 0-1", undefined],
  ];
  for (const [header, expected] of table) {
    assertEquals(parseByteRange(header, size), expected, String(header));
  }
  assertEquals(parseByteRange("bytes=0-", 0), "unsatisfiable");
  assertEquals(parseByteRange("bytes=-10", 0), "unsatisfiable");
});

Deno.test("etagMatches compares weakly, in lists, and takes *", () => {
  assertEquals(etagMatches('"a"', '"a"'), true);
  assertEquals(etagMatches('W/"a"', '"a"'), true);
  assertEquals(etagMatches('"x", "a"', '"a"'), true);
  assertEquals(etagMatches("*", '"a"'), true);
  assertEquals(etagMatches('"ab"', '"a"'), false);
  assertEquals(etagMatches("", '"a"'), false);
});
