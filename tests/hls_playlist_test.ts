import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import {
  lastPart,
  type MediaPlaylistInput,
  type PlaylistSegment,
  renderMediaPlaylist,
  renderMultivariantPlaylist,
} from "../lib/package/hls_playlist.ts";

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);

/** Segments of 2 s in four 0.5 s parts from MSN `first`; the last one in progress with `open` parts. */
function segments(first: number, count: number, open = 0): PlaylistSegment[] {
  const out: PlaylistSegment[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      number: first + i,
      duration: 2,
      programDateTime: T0 + i * 2000,
      parts: Array.from({ length: 4 }, (_, p) => ({ duration: 0.5, independent: p === 0 })),
      complete: true,
      discontinuity: false,
      init: "../e/x/v1/init-0.mp4",
    });
  }
  if (open > 0) {
    out.push({
      number: first + count,
      duration: open * 0.5,
      programDateTime: T0 + count * 2000,
      parts: Array.from({ length: open }, (_, p) => ({ duration: 0.5, independent: p === 0 })),
      complete: false,
      discontinuity: false,
      init: "../e/x/v1/init-0.mp4",
    });
  }
  return out;
}

function input(list: PlaylistSegment[], extra: Partial<MediaPlaylistInput> = {}) {
  return {
    targetDuration: 2,
    partTarget: 0.5,
    discontinuitySequence: 7,
    segments: list,
    uri: (n: number, p?: number) => `../e/x/v1/${n}${p === undefined ? "" : `.${p}`}.m4s`,
    ...extra,
  };
}

function tagLines(text: string, tag: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(tag));
}

Deno.test("renderMediaPlaylist writes the LL-HLS header with hold-backs of three targets", () => {
  const text = renderMediaPlaylist(input(segments(100, 7, 2)));
  const lines = text.split("\n");
  assertEquals(lines.slice(0, 3), ["#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:2"]);
  const control = tagLines(text, "#EXT-X-SERVER-CONTROL:")[0];
  const partHoldBack = Number(/PART-HOLD-BACK=([0-9.]+)/.exec(control)?.[1]);
  const holdBack = Number(/[^-]HOLD-BACK=([0-9.]+)/.exec(control)?.[1]);
  assert(partHoldBack >= 3 * 0.5, control);
  assert(holdBack >= 3 * 2, control);
  assertMatch(control, /CAN-BLOCK-RELOAD=YES/);
  assertEquals(tagLines(text, "#EXT-X-PART-INF:"), ["#EXT-X-PART-INF:PART-TARGET=0.500"]);
  assertEquals(tagLines(text, "#EXT-X-MEDIA-SEQUENCE:"), ["#EXT-X-MEDIA-SEQUENCE:100"]);
  assertEquals(tagLines(text, "#EXT-X-DISCONTINUITY-SEQUENCE:"), [
    "#EXT-X-DISCONTINUITY-SEQUENCE:7",
  ]);
  assertEquals(tagLines(text, "#EXT-X-MAP:"), ['#EXT-X-MAP:URI="../e/x/v1/init-0.mp4"']);
  assert(text.endsWith("\n"));
});

Deno.test("renderMediaPlaylist lists complete segments with EXTINF and the open one by parts", () => {
  const text = renderMediaPlaylist(input(segments(100, 7, 2)));
  const uris = text.split("\n").filter((line) => line && !line.startsWith("#"));
  assertEquals(uris, [100, 101, 102, 103, 104, 105, 106].map((n) => `../e/x/v1/${n}.m4s`));
  for (const line of tagLines(text, "#EXTINF:")) {
    assert(Math.round(Number(line.slice(8, -1))) <= 2, line);
  }
  // The open segment's two parts are listed, and no EXTINF for it.
  assert(text.includes('#EXT-X-PART:DURATION=0.500,URI="../e/x/v1/107.0.m4s",INDEPENDENT=YES'));
  assert(text.includes('#EXT-X-PART:DURATION=0.500,URI="../e/x/v1/107.1.m4s"\n'));
  assertEquals(tagLines(text, "#EXT-X-PROGRAM-DATE-TIME:").length, 8);
  assertEquals(
    tagLines(text, "#EXT-X-PROGRAM-DATE-TIME:")[0],
    "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T08:00:00.000Z",
  );
});

Deno.test("renderMediaPlaylist lists parts only near the live edge", () => {
  const text = renderMediaPlaylist(input(segments(100, 7, 1)));
  const partSegments = new Set(
    tagLines(text, "#EXT-X-PART:").map((line) => /v1\/([0-9]+)\./.exec(line)?.[1]),
  );
  // 3 x T = 6 s: the three newest complete segments and the open one.
  assertEquals([...partSegments], ["104", "105", "106", "107"]);
});

Deno.test("renderMediaPlaylist has exactly one preload hint, for the next part", () => {
  const open = renderMediaPlaylist(input(segments(100, 7, 2)));
  assertEquals(tagLines(open, "#EXT-X-PRELOAD-HINT:"), [
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../e/x/v1/107.2.m4s"',
  ]);
  const closed = renderMediaPlaylist(input(segments(100, 7)));
  assertEquals(tagLines(closed, "#EXT-X-PRELOAD-HINT:"), [
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../e/x/v1/107.0.m4s"',
  ]);
  const ended = renderMediaPlaylist(input(segments(100, 7), { ended: true }));
  assertEquals(tagLines(ended, "#EXT-X-PRELOAD-HINT:"), []);
  assertEquals(tagLines(ended, "#EXT-X-ENDLIST"), ["#EXT-X-ENDLIST"]);
});

Deno.test("renderMediaPlaylist marks a discontinuity and a new init with EXT-X-MAP", () => {
  const list = segments(100, 7);
  list[5] = { ...list[5], discontinuity: true, init: "../e/x/v1/init-1.mp4" };
  list[6] = { ...list[6], init: "../e/x/v1/init-1.mp4" };
  list[3] = { ...list[3], discontinuity: true };
  const lines = renderMediaPlaylist(input(list)).split("\n");
  assertEquals(lines.filter((l) => l === "#EXT-X-DISCONTINUITY").length, 2);
  const maps = lines.filter((l) => l.startsWith("#EXT-X-MAP:"));
  assertEquals(maps, [
    '#EXT-X-MAP:URI="../e/x/v1/init-0.mp4"',
    '#EXT-X-MAP:URI="../e/x/v1/init-1.mp4"',
  ]);
  // The new map comes after the discontinuity and before the segment's URI.
  const at = lines.indexOf('#EXT-X-MAP:URI="../e/x/v1/init-1.mp4"');
  assertEquals(lines[at - 1], "#EXT-X-DISCONTINUITY");
  assert(lines.indexOf("../e/x/v1/105.m4s") > at);
});

Deno.test("renderMediaPlaylist lists nothing of a segment that has no part yet", () => {
  const list = segments(100, 7);
  list.push({ ...list[6], number: 107, parts: [], complete: false, duration: 0 });
  const text = renderMediaPlaylist(input(list));
  assertEquals(tagLines(text, "#EXT-X-PROGRAM-DATE-TIME:").length, 7);
  assertEquals(
    text.trimEnd().split("\n").at(-1),
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../e/x/v1/107.0.m4s"',
  );
});

Deno.test("renderMediaPlaylist reports the other renditions and refuses an empty list", () => {
  const text = renderMediaPlaylist(
    input(segments(100, 7, 1), {
      renditionReports: [{ uri: "a2.m3u8", lastMsn: 107, lastPart: 0 }],
    }),
  );
  assertEquals(tagLines(text, "#EXT-X-RENDITION-REPORT:"), [
    '#EXT-X-RENDITION-REPORT:URI="a2.m3u8",LAST-MSN=107,LAST-PART=0',
  ]);
  assertThrows(() => renderMediaPlaylist(input([])), RangeError);
});

Deno.test("lastPart finds the newest part, in the open segment or the last complete one", () => {
  assertEquals(lastPart(segments(100, 7, 2)), { msn: 107, part: 1 });
  assertEquals(lastPart(segments(100, 7)), { msn: 106, part: 3 });
  assertEquals(lastPart([]), undefined);
});

Deno.test("renderMultivariantPlaylist groups audio renditions under the video variant", () => {
  const text = renderMultivariantPlaylist({
    video: {
      uri: "hls/v1.m3u8",
      codecs: "avc1.64001f",
      bandwidth: 2_500_000,
      width: 1280,
      height: 720,
      frameRate: 25,
    },
    audio: [{ uri: "hls/a2.m3u8", codecs: "mp4a.40.2", bandwidth: 130_000, channels: 2 }],
    independentSegments: true,
  });
  const lines = text.trim().split("\n");
  assertEquals(lines[0], "#EXTM3U");
  assert(lines.includes("#EXT-X-INDEPENDENT-SEGMENTS"));
  const media = lines.find((l) => l.startsWith("#EXT-X-MEDIA:")) ?? "";
  assertMatch(media, /TYPE=AUDIO,GROUP-ID="aud",.*DEFAULT=YES,.*CHANNELS="2",URI="hls\/a2.m3u8"/);
  const inf = lines.find((l) => l.startsWith("#EXT-X-STREAM-INF:")) ?? "";
  assertMatch(inf, /BANDWIDTH=2630000,/);
  assertMatch(inf, /CODECS="avc1.64001f,mp4a.40.2"/);
  assertMatch(inf, /RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="aud"$/);
  assertEquals(lines[lines.length - 1], "hls/v1.m3u8");
});

Deno.test("renderMultivariantPlaylist makes each audio rendition a variant when there is no video", () => {
  const text = renderMultivariantPlaylist({
    audio: [{ uri: "hls/a1.m3u8", codecs: "opus", bandwidth: 96_000 }],
    independentSegments: false,
  });
  assertEquals(
    text,
    '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-STREAM-INF:BANDWIDTH=96000,CODECS="opus"\nhls/a1.m3u8\n',
  );
  assertThrows(
    () => renderMultivariantPlaylist({ audio: [], independentSegments: true }),
    RangeError,
  );
});

Deno.test("renderMediaPlaylist marks gap segments with EXT-X-GAP, no parts, and hints past them", () => {
  const list = segments(100, 5);
  const gap = (number: number, duration: number, at: number): PlaylistSegment => ({
    number,
    duration,
    programDateTime: T0 + at,
    parts: [],
    complete: true,
    discontinuity: false,
    init: "../e/x/v1/init-0.mp4",
    gap: true,
  });
  list.push(gap(105, 2, 10_000), gap(106, 1.25, 12_000));
  const text = renderMediaPlaylist(input(list));
  const lines = text.split("\n");
  // Each gap: its date, EXT-X-GAP, its EXTINF and a URI (every segment has one, §4.4.4.7).
  for (const [n, extinf, date] of [[105, "2.000", "08:00:10"], [106, "1.250", "08:00:12"]]) {
    const at = lines.indexOf(`../e/x/v1/${n}.m4s`);
    assertEquals(lines.slice(at - 3, at), [
      `#EXT-X-PROGRAM-DATE-TIME:2026-12-01T${date}.000Z`,
      "#EXT-X-GAP",
      `#EXTINF:${extinf},`,
    ]);
  }
  assertEquals(tagLines(text, "#EXT-X-GAP").length, 2);
  assert(!/URI="\.\.\/e\/x\/v1\/10[56]\.[0-9]+\.m4s"/.test(text), "a gap listed parts");
  assertEquals(tagLines(text, "#EXT-X-PRELOAD-HINT:"), [
    '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../e/x/v1/107.0.m4s"',
  ]);
  // Rendition reports name the newest real part, before the gaps.
  assertEquals(lastPart(list), { msn: 104, part: 3 });
});
