import { assertEquals } from "@std/assert";
import {
  advancePartLimit,
  blockingState,
  parseBlockingRequest,
} from "../lib/package/blocking_reload.ts";
import type { PlaylistSegment } from "../lib/package/hls_playlist.ts";

function segment(number: number, parts: number, complete: boolean): PlaylistSegment {
  return {
    number,
    duration: parts * 0.5,
    programDateTime: 0,
    parts: Array.from({ length: parts }, (_, p) => ({ duration: 0.5, independent: p === 0 })),
    complete,
    discontinuity: false,
    init: "init-0.mp4",
  };
}

Deno.test("parseBlockingRequest reads _HLS_msn and _HLS_part strictly", () => {
  const parse = (query: string) => parseBlockingRequest(new URLSearchParams(query));
  assertEquals(parse(""), undefined);
  assertEquals(parse("_HLS_msn=12"), { msn: 12 });
  assertEquals(parse("_HLS_msn=12&_HLS_part=0"), { msn: 12, part: 0 });
  for (
    const bad of [
      "_HLS_part=1",
      "_HLS_msn=-1",
      "_HLS_msn=1e3",
      "_HLS_msn=0x10",
      "_HLS_msn=",
      "_HLS_msn=1&_HLS_part=+1",
      "_HLS_msn=01",
    ]
  ) {
    assertEquals((parse(bad) as { status?: number })?.status, 400, bad);
  }
});

Deno.test("advancePartLimit is three seconds of parts below a one-second target, else three", () => {
  assertEquals(advancePartLimit(0.5), 6);
  assertEquals(advancePartLimit(0.2), 15);
  assertEquals(advancePartLimit(1), 3);
  assertEquals(advancePartLimit(2), 3);
});

Deno.test("blockingState answers listed parts at once and waits for the next", () => {
  const list = [segment(10, 4, true), segment(11, 4, true), segment(12, 2, false)];
  assertEquals(blockingState(list, { msn: 11 }, 0.5), "ready");
  assertEquals(blockingState(list, { msn: 12 }, 0.5), "wait");
  assertEquals(blockingState(list, { msn: 12, part: 1 }, 0.5), "ready");
  assertEquals(blockingState(list, { msn: 12, part: 2 }, 0.5), "wait");
  assertEquals(blockingState(list, { msn: 13, part: 0 }, 0.5), "wait");
  assertEquals(blockingState(list, { msn: 9 }, 0.5), "ready");
});

Deno.test("blockingState treats a part past a complete segment's last as part 0 of the next", () => {
  const list = [segment(10, 4, true), segment(11, 1, false)];
  assertEquals(blockingState(list, { msn: 10, part: 4 }, 0.5), "ready");
  const closed = [segment(10, 4, true)];
  assertEquals(blockingState(closed, { msn: 10, part: 4 }, 0.5), "wait");
});

Deno.test("blockingState refuses requests too far ahead with 400", () => {
  const list = [segment(10, 4, true), segment(11, 2, false)];
  assertEquals(blockingState(list, { msn: 13 }, 0.5), "wait");
  assertEquals((blockingState(list, { msn: 14 }, 0.5) as { status: number }).status, 400);
  assertEquals(blockingState(list, { msn: 11, part: 7 }, 0.5), "wait");
  assertEquals((blockingState(list, { msn: 11, part: 8 }, 0.5) as { status: number }).status, 400);
});

Deno.test("blockingState answers a request for a gap segment (no parts to wait for) at once", () => {
  const gap = { ...segment(12, 0, true), duration: 2, gap: true };
  const list = [segment(10, 4, true), segment(11, 4, true), gap];
  assertEquals(blockingState(list, { msn: 12, part: 0 }, 0.5), "ready");
  assertEquals(blockingState(list, { msn: 12 }, 0.5), "ready");
  // Past the last part of 11 is part 0 of 12: the gap.
  assertEquals(blockingState(list, { msn: 11, part: 4 }, 0.5), "ready");
  assertEquals(blockingState(list, { msn: 13, part: 0 }, 0.5), "wait");
  // Without the gap, part 0 of 12 is waited for.
  assertEquals(blockingState(list.slice(0, 2), { msn: 11, part: 4 }, 0.5), "wait");
});
