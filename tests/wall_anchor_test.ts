import { assertEquals } from "@std/assert";
import { WallAnchor } from "../lib/package/wall_anchor.ts";

const at = (now: number, media: number, segment = true) => ({
  now,
  media,
  unitsPerSecond: 1000,
  target: 2,
  segment,
});

Deno.test("WallAnchor keeps one Period while media follows the clock, within half a target", () => {
  const anchor = new WallAnchor("e");
  assertEquals(anchor.place(at(10_000, 0)), 10_000);
  // 0.9 s late, and a fast start 5 s early: still the first anchoring.
  assertEquals(anchor.place(at(12_900, 2000)), 12_000);
  assertEquals(anchor.place(at(9_000, 4000)), 14_000);
  // Parts (not segment starts) never re-anchor, however late.
  assertEquals(anchor.place(at(60_000, 4500, false)), 14_500);
  assertEquals(anchor.periods.length, 1);
  assertEquals(anchor.period, 0);
});

Deno.test("WallAnchor opens Periods: late (connected), after breakPeriod (connected), after discontinue (not)", () => {
  const anchor = new WallAnchor("e");
  anchor.place(at(10_000, 0));
  assertEquals(anchor.place(at(13_100, 2000)), 13_100); // 1.1 s late
  anchor.breakPeriod();
  assertEquals(anchor.place(at(15_100, 4000)), 15_100); // on time, but broken
  anchor.discontinue();
  assertEquals(anchor.place(at(17_100, 6000, false)), 17_100); // a part: nothing yet
  assertEquals(anchor.place(at(17_200, 6100)), 17_200);
  assertEquals(anchor.takeDiscontinuity(), true);
  assertEquals(anchor.takeDiscontinuity(), false);
  // 6.1 s early (a fast start beyond three targets): re-anchored as well.
  assertEquals(anchor.place(at(17_300, 12_300)), 17_300);
  assertEquals(
    anchor.periods.map((p) => [p.id, p.start, p.connected]),
    [["e-0", 10, false], ["e-1", 13.1, true], ["e-2", 15.1, true], ["e-3", 17.2, false], [
      "e-4",
      17.3,
      true,
    ]],
  );
  assertEquals(anchor.period, 4);
});
