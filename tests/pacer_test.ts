import { assertEquals, assertThrows } from "@std/assert";
import { Pacer } from "../lib/ingest/pacer.ts";

Deno.test("Pacer releases the preroll at once, then media at real time", () => {
  const pacer = new Pacer({ preroll: 2000 });
  assertEquals(pacer.delay(10_000, 0), 0); // the first block sets the origin
  assertEquals(pacer.delay(11_000, 0), 0);
  assertEquals(pacer.delay(12_000, 0), 0);
  assertEquals(pacer.delay(12_040, 0), 40);
  assertEquals(pacer.delay(13_000, 500), 500);
  assertEquals(pacer.delay(13_000, 1200), 0); // late: no wait
});

Deno.test("Pacer resets its clock on a jump forward instead of sleeping for the gap", () => {
  const pacer = new Pacer({ maxJump: 5000 });
  assertEquals(pacer.delay(0, 0), 0);
  assertEquals(pacer.delay(40, 0), 40);
  assertEquals(pacer.delay(3_600_000, 40), 0); // an hour ahead: reset
  assertEquals(pacer.resets, 1);
  assertEquals(pacer.delay(3_600_040, 40), 40);
});

Deno.test("Pacer resets its clock on a jump backward instead of bursting", () => {
  const pacer = new Pacer({ maxJump: 5000 });
  pacer.delay(100_000, 0);
  assertEquals(pacer.delay(100_040, 0), 40);
  assertEquals(pacer.delay(0, 40), 0); // a restarted source
  assertEquals(pacer.resets, 1);
  assertEquals(pacer.delay(40, 40), 40);
  // Small steps back (B-frame reordering) are not jumps.
  assertEquals(pacer.delay(20, 40), 20);
  assertEquals(pacer.resets, 1);
});

Deno.test("Pacer rejects bad options with TypeError", () => {
  assertThrows(() => new Pacer({ preroll: -1 }), TypeError);
  assertThrows(() => new Pacer({ maxJump: 0 }), TypeError);
});
