import { assert, assertEquals, assertMatch } from "@std/assert";
import type { Block } from "../lib/matroska/block.ts";
import { Packager, segmentForms } from "../lib/package/packager.ts";
import {
  dashManifest,
  lookupObject,
  mediaPlaylist,
  multivariantPlaylist,
  renditionReady,
  trackId,
} from "../lib/package/segment_views.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { decodeBytes, demux, readFixture } from "./_util.ts";
import { probePackets } from "./_mp4.ts";

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);

/** Packages `fixture` looped `loops` times, the clock following the media (a live source). */
async function packaged(fixture: string, loops: number) {
  const { header, blocks } = demux(await readFixture(fixture));
  const span = blocks[blocks.length - 1].time + 40;
  let clock = T0;
  const packager = new Packager({ now: () => clock });
  packager.setHeader(header);
  for (let loop = 0; loop < loops; loop++) {
    for (const block of blocks) {
      const shifted: Block = { ...block, time: block.time + loop * span };
      clock = T0 + shifted.time;
      packager.push(shifted);
    }
  }
  return { packager, header };
}

function found(result: ReturnType<typeof lookupObject>): Uint8Array {
  if (!("found" in result)) throw new Error(`Not found: ${JSON.stringify(result)}`);
  return result.found;
}

Deno.test("segmentForms offers HLS for ISO BMFF codecs and WebM DASH for WebM codecs", async () => {
  const webm = demux(await readFixture("sample.webm")).header;
  assertEquals(segmentForms(webm.tracks), { hls: false, dash: "webm", noMp4: ["V_VP8"] });
  const h264 = demux(await readFixture("h264_aac.mkv")).header;
  assertEquals(segmentForms(h264.tracks), { hls: true, dash: "cmaf", noMp4: [] });
});

Deno.test("Packager makes LL-HLS of H.264 with B-frames + AAC that ffmpeg decodes", async () => {
  const { packager, header } = await packaged("h264_aac.mkv", 4);
  const master = multivariantPlaylist(packager);
  assert(master);
  assertMatch(master, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
  for (const track of header.tracks) {
    const id = trackId(track);
    const playlist = mediaPlaylist(packager, id);
    assert(playlist, id);
    assertMatch(playlist, /#EXT-X-TARGETDURATION:2\n/);
    const segments = [...playlist.matchAll(/^\.\.\/e\/[0-9a-z]+\/[va][0-9]+\/([0-9]+)\.m4s$/gm)]
      .map((m) => Number(m[1]));
    assert(segments.length >= 7, `${id}: ${segments.length} segments`);
    for (let i = 1; i < segments.length; i++) assertEquals(segments[i], segments[i - 1] + 1);
    assertEquals(playlist.match(/#EXT-X-PRELOAD-HINT/g)?.length, 1);
    // Parts never exceed the part target, B-frames or not (RFC 8216bis §4.4.4.9), and each
    // video segment's first part starts with its keyframe.
    for (const m of playlist.matchAll(/#EXT-X-PART:DURATION=([0-9.]+)/g)) {
      assert(Number(m[1]) <= 0.5, `${id}: part of ${m[1]} s`);
    }
    if (track.kind === "video") {
      for (const m of playlist.matchAll(/#EXT-X-PART:[^\n]*\/([0-9]+)\.0\.m4s"([^\n]*)/g)) {
        assertEquals(m[2], ",INDEPENDENT=YES", `segment ${m[1]}`);
      }
    }
    // Init + every listed segment is a playable fMP4 file.
    const init = found(lookupObject(packager, packager.epoch, id, "init-0.mp4"));
    const media = segments.map((n) =>
      found(lookupObject(packager, packager.epoch, id, `${n}.m4s`))
    );
    const result = await decodeBytes(concatBytes([init, ...media]), "mp4");
    assertEquals(result.code, 0, result.text);
    assertEquals(result.text, "", id);
    assertEquals(result.streams, track.kind === "video" ? "h264" : "aac");
    // A segment is its parts concatenated.
    const parts = [];
    for (let p = 0;; p++) {
      const r = lookupObject(packager, packager.epoch, id, `${segments[1]}.${p}.m4s`);
      if (!("found" in r)) break;
      parts.push(r.found);
    }
    assert(parts.length >= 2);
    assertEquals(concatBytes(parts), media[1]);
  }
});

Deno.test("Packager makes WebM DASH of VP8 + Opus, one AdaptationSet per track", async () => {
  const { packager, header } = await packaged("sample.webm", 3);
  assertEquals(multivariantPlaylist(packager), undefined);
  const mpd = dashManifest(packager, T0 + 30_000);
  assert(mpd);
  assertEquals(mpd.match(/<AdaptationSet /g)?.length, 2);
  assertMatch(mpd, /mimeType="video\/webm"/);
  assertMatch(mpd, /codecs="vp8"/);
  assertMatch(mpd, /codecs="opus"/);
  for (const track of header.tracks) {
    const id = trackId(track);
    const init = found(lookupObject(packager, packager.epoch, id, "init-0.webm"));
    assertMatch(mpd, new RegExp(`media="e/[0-9a-z]+/${id}/\\$Number\\$.webm"`));
    const first = Number(
      new RegExp(`startNumber="([0-9]+)" initialization="e/[0-9a-z]+/${id}/`).exec(mpd)?.[1],
    );
    assert(first >= packager.firstSegment);
    const media = [0, 1, 2, 3].map((k) =>
      found(lookupObject(packager, packager.epoch, id, `${first + k}.webm`))
    );
    const result = await decodeBytes(concatBytes([init, ...media]), "webm");
    assertEquals(result.text, "", id);
    assertEquals(result.streams, track.kind === "video" ? "vp8" : "opus");
  }
});

Deno.test("lookupObject says which objects may be waited for and which are gone", async () => {
  const { packager } = await packaged("h264_aac.mkv", 1);
  const epoch = packager.epoch;
  const store = packager.tracks.get(1)?.cmaf;
  assert(store);
  const newest = store.segments[store.segments.length - 1];
  assert("pending" in lookupObject(packager, epoch, "v1", `${newest.number}.m4s`));
  assert(
    "pending" in lookupObject(packager, epoch, "v1", `${newest.number}.${newest.parts.length}.m4s`),
  );
  assert("missing" in lookupObject(packager, epoch, "v1", `${newest.number + 5}.m4s`));
  assert("missing" in lookupObject(packager, "other", "v1", `${newest.number}.m4s`));
  assert("missing" in lookupObject(packager, epoch, "v9", "init-0.mp4"));
  assert("missing" in lookupObject(packager, epoch, "v1", "../../etc/passwd"));
  packager.end();
  assert("found" in lookupObject(packager, epoch, "v1", `${newest.number}.m4s`));
  assertMatch(mediaPlaylist(packager, "v1") ?? "", /#EXT-X-ENDLIST/);
});

Deno.test("Packager fills a source's absence with gap segments; the next source follows them", async () => {
  // Source A: the fixture looped by ffmpeg's way (its audio splice overlaps by one frame).
  const { header, blocks } = demux(await readFixture("h264_aac.mkv"));
  // ffmpeg -stream_loop starts the next loop 1 ms after the last audio frame's start.
  const span = blocks.filter((b) => b.track === 2).at(-1)!.time + 1;
  const loop = [...blocks, ...blocks.map((b) => ({ ...b, time: b.time + span }))];
  let clock = T0;
  const packager = new Packager({ now: () => clock });
  packager.setHeader(header);
  const feed = (shift: number, late: number) => {
    for (const block of loop) {
      clock = T0 + block.time + shift + late;
      packager.push({ ...block, time: block.time + shift });
    }
  };
  feed(0, 0);
  packager.sourceEnded();
  const numbers = (text: string | undefined) =>
    [...(text ?? "").matchAll(/\/([0-9]+)\.m4s$/gm)].map((m) => Number(m[1]));
  const gaps = (text: string | undefined) =>
    [...(text ?? "").matchAll(/#EXT-X-GAP\n#EXTINF:([0-9.]+),\n[^\n]*\/([0-9]+)\.m4s\n/g)]
      .map((m) => [Number(m[2]), Number(m[1])]);
  const before = mediaPlaylist(packager, "v1");
  const lastOfA = numbers(before).at(-1)!;
  // Away for 1.9 s: no gap segment yet (one comes per whole target duration of 2 s).
  clock += 1900;
  packager.fillGap();
  assertEquals(mediaPlaylist(packager, "v1"), before);
  // Away for 4.1 s: two, in every rendition, numbered on; a blocking reload for them is answered.
  clock += 2200;
  packager.fillGap();
  for (const id of ["v1", "a2"]) {
    assertEquals(gaps(mediaPlaylist(packager, id)), [[lastOfA + 1, 2], [lastOfA + 2, 2]], id);
  }
  assertEquals(renditionReady(packager, "v1", { msn: lastOfA + 2, part: 0 }), "ready");
  assertEquals(renditionReady(packager, "v1", { msn: lastOfA + 3, part: 0 }), "wait");
  assert("missing" in lookupObject(packager, packager.epoch, "v1", `${lastOfA + 1}.m4s`));
  assert(dashManifest(packager, clock), "no MPD while the source is away");
  // Source B, the same tracks, 5 s after A ended (the mount continues its timeline one frame
  // later): a last gap of 1 s, then B's segments, whose media follows the gaps.
  packager.setHeader(header);
  feed(2 * span + 40, 5000);
  const video = numbers(mediaPlaylist(packager, "v1"));
  assertEquals(video.at(-1)! - video[0] + 1, video.length, `${video}`);
  assertEquals(numbers(mediaPlaylist(packager, "a2")), video);
  const listed = gaps(mediaPlaylist(packager, "v1"));
  assertEquals(listed.map(([n]) => n), [lastOfA + 1, lastOfA + 2, lastOfA + 3]);
  // 5 s, from the end of A's last segment (its last frame's end, a few ms from its clock).
  assert(Math.abs(listed.reduce((t, [, d]) => t + d, 0) - 5.04) < 0.1, `${listed}`);
  // DASH: B in a Period of its own, connected to A's; the gaps are in neither timeline.
  const mpd = dashManifest(packager, clock) ?? "";
  const periods = [...mpd.matchAll(/<Period [\s\S]*?<\/Period>/g)].map((m) => m[0]);
  assertEquals(periods.length, 2, mpd);
  assert(
    periods[1].includes("period-connectivity") &&
      periods[1].includes(`startNumber="${lastOfA + 4}"`),
    periods[1],
  );
  const media = video.filter((n) => !listed.some(([g]) => g === n));
  // The window's segments decode with their init, and their decode times only go forward
  // (the splice's overlapping audio frame is left out: it would cut the one before it short, or,
  // later than that frame's start, step back and fail the fragment).
  const dir = await Deno.makeTempDir();
  try {
    for (const id of ["v1", "a2"]) {
      const init = found(lookupObject(packager, packager.epoch, id, "init-0.mp4"));
      const bytes = concatBytes([
        init,
        ...media.map((n) => found(lookupObject(packager, packager.epoch, id, `${n}.m4s`))),
      ]);
      const result = await decodeBytes(bytes, "mp4");
      assertEquals([result.code, result.text], [0, ""], id);
      const path = `${dir}/${id}.mp4`;
      await Deno.writeFile(path, bytes);
      const { packets } = await probePackets(path, id === "v1" ? "v" : "a");
      // Audio frames (AAC, 1024 samples at 48 kHz) never overlap: none is cut short.
      const step = id === "v1" ? 1 : 1024;
      for (let i = 1; i < packets.length; i++) {
        const d = packets[i].dts! - packets[i - 1].dts!;
        assert(d >= step, `${id} packet ${i}: decode time step ${d}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
