import { assert, assertEquals, assertMatch } from "@std/assert";
import type { Logger } from "../lib/log.ts";
import { mediaPlaylist } from "../lib/package/segment_views.ts";
import { PackagerTable } from "../lib/server/packagers.ts";
import { demux, readFixture } from "./_util.ts";

function capture(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const none = () => {};
  return {
    errors,
    log: { error: (m: string) => void errors.push(m), warn: none, info: none, debug: none },
  };
}

Deno.test("PackagerTable stops a packager that throws; the tap never throws; a new source starts afresh", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const { log, errors } = capture();
  const table = new PackagerTable({}, log);
  const tap = table.tap("cam");
  tap.header(header);
  const half = Math.floor(blocks.length / 2);
  for (const block of blocks.slice(0, half)) tap.block(block);
  const first = table.get("cam");
  assert(first?.tracks.get(2)?.webm?.segments.length, "no segments before the fault");
  // An Opus block 100 s ahead in the middle of a part: that part's WebM Cluster cannot hold
  // both (a relative time past int16), which the writer refuses.
  const audio = blocks.slice(half).find((b) => b.track === 2)!;
  tap.block({ ...audio, time: audio.time + 100_000 });
  for (const block of blocks.slice(half)) tap.block(block);
  assertEquals(errors.length, 1, errors.join("\n"));
  assertMatch(errors[0], /^Segments of \/live\/cam stopped: .*the progressive stream goes on$/);
  // The playlists of what was packaged end (no player waits for more).
  assert(first?.tracks.get(2)?.webm?.ended, "the failed packager did not end");
  // A new source's header replaces it with a new packager (a new epoch).
  tap.pause();
  tap.header(header);
  for (const block of blocks) tap.block(block);
  assert(table.get("cam") !== first, "the failed packager was kept");
  assertEquals(errors.length, 1);
  assert(table.get("cam")?.tracks.get(1)?.webm?.segments.length);
  assertEquals(mediaPlaylist(table.get("cam")!, "v1"), undefined); // VP8: no HLS
  tap.end();
});
