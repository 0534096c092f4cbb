/**
 * The player page: which browsers play which codecs (`browserSupport`), escaping, and the inline
 * script run against a stub DOM and a stub `/status` (the real browser is in browser_test.ts).
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import type { TrackInfo } from "../lib/matroska/live_header.ts";
import { browserSupport, codecName, mseType } from "../lib/server/browser_support.ts";
import { playerPage } from "../lib/server/player_page.ts";
import { Mount, type MountStatus } from "../lib/stream/mount.ts";

const VP8 = { kind: "video", codecId: "V_VP8" } as const;
const VP9 = { kind: "video", codecId: "V_VP9" } as const;
const AV1 = { kind: "video", codecId: "V_AV1" } as const;
const H264 = { kind: "video", codecId: "V_MPEG4/ISO/AVC" } as const;
const HEVC = { kind: "video", codecId: "V_MPEGH/ISO/HEVC" } as const;
const MPEG2 = { kind: "video", codecId: "V_MPEG2" } as const;
const OPUS = { kind: "audio", codecId: "A_OPUS" } as const;
const VORBIS = { kind: "audio", codecId: "A_VORBIS" } as const;
const AAC = { kind: "audio", codecId: "A_AAC" } as const;
const AC3 = { kind: "audio", codecId: "A_AC3" } as const;
const FLAC = { kind: "audio", codecId: "A_FLAC" } as const;
const WEBVTT = { kind: "subtitle", codecId: "S_TEXT/WEBVTT" } as const;

Deno.test("browserSupport says Chromium and Firefox play VP8/VP9/AV1 with Opus/Vorbis in WebM, Safari poorly", () => {
  for (
    const tracks of [[VP8, OPUS], [VP9, VORBIS], [AV1, OPUS], [VP9], [OPUS]]
  ) {
    const support = browserSupport(tracks, "webm");
    assertEquals(support.level, "webm", JSON.stringify(tracks));
    assertEquals(
      [support.chromium, support.firefox, support.safari],
      ["yes", "yes", "poor"],
    );
    assertEquals(support.blockers, []);
    assertStringIncludes(support.message, "Chromium");
    assertStringIncludes(support.message, "Firefox");
    assertStringIncludes(support.message, "Safari's WebM support is poor");
  }
});

Deno.test("browserSupport judges by codecs alone when the DocType is not given", () => {
  assertEquals(browserSupport([VP8, OPUS]).level, "webm");
  assertEquals(browserSupport([H264, AAC]).level, "chromium");
});

Deno.test("browserSupport says only Chromium plays H.264 and AAC in Matroska", () => {
  const support = browserSupport([H264, AAC], "matroska");
  assertEquals(support.level, "chromium");
  assertEquals(
    [support.chromium, support.firefox, support.safari],
    ["yes", "no", "no"],
  );
  assertEquals(support.blockers, ["H.264", "AAC"]);
  assertEquals(
    support.message,
    "Playable in Chromium-based browsers (Chrome, Edge, Opera) only: Firefox and Safari do " +
      "not play H.264 and AAC in Matroska; there, use mpv, ffplay or VLC",
  );
  // AAC's profile variants are AAC too; mixed with WebM codecs it is still Chromium only.
  const mixed = browserSupport([VP9, {
    kind: "audio",
    codecId: "A_AAC/MPEG4/LC",
  }]);
  assertEquals(mixed.level, "chromium");
  assertEquals(mixed.blockers, ["AAC"]);
});

Deno.test("browserSupport counts only on Chromium for WebM codecs in DocType matroska", () => {
  const support = browserSupport([VP8, OPUS], "matroska");
  assertEquals(support.level, "chromium");
  assertEquals(support.blockers, []);
  assertStringIncludes(support.message, "Matroska (DocType matroska)");
});

Deno.test("browserSupport says HEVC, MPEG-2, AC-3 and FLAC are not playable in browsers", () => {
  for (
    const [tracks, blockers] of [
      [[HEVC, AAC], ["HEVC"]],
      [[MPEG2, AC3], ["MPEG-2", "AC-3"]],
      [[H264, FLAC], ["FLAC"]],
      [[VP9, FLAC], ["FLAC"]],
      [[{ kind: "video", codecId: "V_MYSTERY" }], ["V_MYSTERY"]],
    ] as const
  ) {
    const support = browserSupport(tracks, "matroska");
    assertEquals(support.level, "none");
    assertEquals(
      [support.chromium, support.firefox, support.safari],
      ["no", "no", "no"],
    );
    assertEquals(support.blockers, [...blockers]);
    assertEquals(
      support.message,
      `Not playable in browsers (${blockers.join(", ")}): use mpv, ffplay or VLC`,
    );
  }
});

Deno.test("browserSupport ignores subtitle tracks and names each blocking codec once", () => {
  assertEquals(browserSupport([VP8, OPUS, WEBVTT], "webm").level, "webm");
  assertEquals(browserSupport([HEVC, HEVC, AC3, AC3]).blockers, [
    "HEVC",
    "AC-3",
  ]);
  const subtitlesOnly = browserSupport([WEBVTT]);
  assertEquals(subtitlesOnly.level, "none");
  assertStringIncludes(subtitlesOnly.message, "No audio or video track");
});

Deno.test("browserSupport says the codecs are unknown while the source has not started", () => {
  for (const tracks of [undefined, []]) {
    const support = browserSupport(tracks);
    assertEquals(support.level, "unknown");
    assertStringIncludes(support.message, "Waiting for the source");
  }
});

Deno.test("mseType gives the WebM Media Source type of WebM codecs, video or audio only", () => {
  assertEquals(mseType([VP8, OPUS], "webm"), 'video/webm; codecs="vp8, opus"');
  assertEquals(mseType([VP9, VORBIS]), 'video/webm; codecs="vp9, vorbis"');
  assertEquals(mseType([AV1, OPUS], "webm"), 'video/webm; codecs="av01.0.08M.08, opus"');
  assertEquals(mseType([OPUS], "webm"), 'audio/webm; codecs="opus"');
  assertEquals(mseType([VP8, WEBVTT, OPUS], "webm"), 'video/webm; codecs="vp8, opus"');
});

Deno.test("mseType leaves H.264, AAC, other codecs and DocType matroska to the <video>", () => {
  // Chromium's MediaSource.isTypeSupported is false for avc1/mp4a in video/webm and for any
  // video/x-matroska type; its <video> plays them.
  for (const tracks of [[H264, AAC], [VP8, AAC], [H264, OPUS], [HEVC], [MPEG2, AC3], [FLAC]]) {
    assertEquals(mseType(tracks, "webm"), undefined, JSON.stringify(tracks));
  }
  assertEquals(mseType([VP8, OPUS], "matroska"), undefined);
  assertEquals(mseType([WEBVTT], "webm"), undefined);
  assertEquals(mseType(undefined), undefined);
  assertEquals(mseType([]), undefined);
});

Deno.test("codecName names Matroska CodecIDs and passes unknown ones through", () => {
  assertEquals(codecName("V_MPEG4/ISO/AVC"), "H.264");
  assertEquals(codecName("A_AAC/MPEG2/LC/SBR"), "AAC");
  assertEquals(codecName("A_PCM/INT/LIT"), "PCM");
  assertEquals(codecName("A_EAC3"), "E-AC-3");
  assertEquals(codecName("V_SOMETHING"), "V_SOMETHING");
  // Object.prototype keys are not codec names.
  assertEquals(codecName("toString"), "toString");
});

/** A stand-in for `Mount` with a chosen status. */
function fakeMount(status: Partial<MountStatus>) {
  const full: Omit<MountStatus, "startedAt"> & { startedAt?: string } = {
    name: "stream",
    state: "live",
    viewers: 0,
    bytesIn: 0,
    bytesOut: 0,
    blocks: 0,
    skips: 0,
    evictions: 0,
    bitrateIn: 0,
    bitrateOut: 0,
    clients: [],
    clientsOmitted: 0,
    liveTime: 0,
    sourceTime: 0,
    ring: {
      gops: 0,
      bytes: 0,
      pinnedBytes: 0,
      clusters: 0,
      evictedGops: 0,
      seconds: 0,
    } as MountStatus["ring"],
    ...status,
  };
  // Without startedAt unless given: the page shows uptime only when the status has it.
  return { status: () => full as MountStatus };
}

const TRACKS: TrackInfo[] = [
  {
    number: 1,
    kind: "video",
    type: 1,
    codecId: "V_VP8",
    width: 320,
    height: 240,
  },
  {
    number: 2,
    kind: "audio",
    type: 2,
    codecId: "A_OPUS",
    sampleRate: 48000,
    channels: 2,
  },
];

Deno.test("playerPage renders the video, the tracks and the support note", () => {
  const html = playerPage(
    fakeMount({ docType: "webm", contentType: "video/webm", tracks: TRACKS }),
  );
  assertMatch(html, /^<!doctype html>/);
  // No src: the live player (live_player.js) decides between Media Source and the stream's URL.
  assertStringIncludes(html, '<video id="video" autoplay muted controls playsinline>');
  assertStringIncludes(html, ' data-stream="/stream" ');
  assertStringIncludes(html, ' data-mse-type="video/webm; codecs=&#34;vp8, opus&#34;"');
  assertStringIncludes(html, '<td id="stat-latency">—</td>');
  assertStringIncludes(html, "<li>#1 video: VP8 (V_VP8), 320×240</li>");
  assertStringIncludes(
    html,
    "<li>#2 audio: Opus (A_OPUS), 48000 Hz, 2 ch</li>",
  );
  assertStringIncludes(html, 'class="support webm"');
  assertStringIncludes(html, "video/webm");
  // Uptime only once the status says when the stream started.
  assertStringIncludes(html, '<tr id="row-uptime" hidden>');
  assertStringIncludes(
    playerPage(fakeMount({ startedAt: "2026-01-01T00:00:00Z" })),
    '<tr id="row-uptime">',
  );
});

Deno.test("playerPage warns when no browser plays the codecs", () => {
  const html = playerPage(
    fakeMount({
      docType: "matroska",
      tracks: [{
        number: 1,
        kind: "video",
        type: 1,
        codecId: "V_MPEGH/ISO/HEVC",
      }],
    }),
  );
  assertStringIncludes(html, 'class="support none"');
  assertStringIncludes(html, ' data-mse-type=""', "played without Media Source");
  assertStringIncludes(
    html,
    "Not playable in browsers (HEVC): use mpv, ffplay or VLC",
  );
});

Deno.test("playerPage renders a waiting mount", () => {
  const html = playerPage(new Mount("stream"));
  assertStringIncludes(html, "<li>Waiting for the source…</li>");
  assertStringIncludes(html, 'class="support unknown"');
  assertStringIncludes(html, '<td id="stat-state">waiting</td>');
  assertNotMatch(html, /data-mse-type/, "the live player asks /status once the source starts");
});

Deno.test("playerPage escapes the mount name and codec IDs", () => {
  const evil = `<img src=x onerror="alert('x')">&`;
  const html = playerPage(
    fakeMount({
      name: evil,
      docType: evil,
      contentType: evil,
      tracks: [{ number: 1, kind: "video", type: 1, codecId: evil }],
    }),
  );
  assertNotMatch(html, /<img/);
  assertNotMatch(html, /onerror="/);
  assertStringIncludes(
    html,
    "&#60;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&#62;&#38;",
  );
});

Deno.test("playerPage loads nothing from elsewhere", () => {
  const html = playerPage(fakeMount({ tracks: TRACKS }));
  assertNotMatch(html, /(src|href)="(https?:)?\/\//);
  assertNotMatch(html, /<link|@import|<script src/);
  assertEquals(
    html.match(/<script>/g)?.length,
    3,
    "the stats script, the HLS fallback and the live player",
  );
  // hls.js, when the page needs it, comes from mkserver too.
  assertStringIncludes(html, '"/player/hls.min.js"');
});

/** A DOM element as far as the page's script uses one. */
class StubElement {
  textContent = "";
  className = "";
  hidden = false;
  children: StubElement[] = [];
  listeners = new Map<string, () => void>();
  replaceChildren(...items: StubElement[]) {
    this.children = items;
  }
  addEventListener(type: string, listener: () => void) {
    this.listeners.set(type, listener);
  }
}

/** Runs the page's script against stub globals; `statuses` answer successive `/status` polls. */
function runScript(html: string, responses: Array<() => Response>) {
  const script = html.match(/<script>([\s\S]*?)<\/script>/)?.[1];
  assert(script !== undefined, "the page has an inline script");
  const body = html.match(
    /<body data-mount="([^"]*)" data-stream="[^"]*" data-content-type="[^"]*" data-tracks="([^"]*)"/,
  );
  assert(body !== null);
  const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
  const elements = new Map<string, StubElement>();
  for (const [, id, text] of html.matchAll(/ id="([^"]+)"[^>]*>([^<]*)/g)) {
    const element = new StubElement();
    element.textContent = text;
    elements.set(id, element);
  }
  let now = 1000;
  let tick: (() => void) | undefined;
  let fetches = 0;
  const globals = {
    document: {
      body: {
        dataset: { mount: unescape(body[1]), tracks: unescape(body[2]) },
      },
      getElementById: (id: string) => {
        const element = elements.get(id);
        assert(element !== undefined, `the page has no element #${id}`);
        return element;
      },
      createElement: () => new StubElement(),
    },
    fetch: (url: string) => {
      assertEquals(url, "/status");
      const next = responses[fetches++];
      return next ? Promise.resolve(next()) : Promise.reject(new TypeError("Failed to fetch"));
    },
    location: { href: "http://127.0.0.1:8080/" },
    performance: { now: () => now },
    setInterval: (callback: () => void, ms: number) => {
      assertEquals(ms, 2000);
      tick = callback;
    },
  };
  new Function(...Object.keys(globals), script)(...Object.values(globals));
  return {
    text: (id: string) => elements.get(id)!.textContent,
    element: (id: string) => elements.get(id)!,
    /** Lets the poll in flight finish. */
    settle: () => new Promise((resolve) => setTimeout(resolve, 10)),
    /** Advances the clock by `ms` and runs the 2 s timer. */
    advance(ms: number) {
      now += ms;
      tick!();
    },
  };
}

function statusResponse(
  mount: Partial<MountStatus>,
  date?: string,
): () => Response {
  const status = fakeMount(mount).status();
  return () =>
    Response.json(
      { mounts: [status] },
      { headers: date ? { date } : {} },
    );
}

Deno.test("the page's script shows viewers, bitrates, uptime and buffer from /status", async () => {
  const page = runScript(
    playerPage(fakeMount({ docType: "webm", tracks: TRACKS })),
    [
      statusResponse(
        {
          docType: "webm",
          tracks: TRACKS,
          viewers: 1,
          bytesIn: 1000,
          bytesOut: 0,
          startedAt: "2026-01-01T00:00:00.000Z",
        },
        "Thu, 01 Jan 2026 01:02:03 GMT",
      ),
      statusResponse(
        {
          docType: "webm",
          tracks: TRACKS,
          viewers: 3,
          bytesIn: 1000 + 250_000,
          bytesOut: 2000,
          skips: 4,
          startedAt: "2026-01-01T00:00:00.000Z",
          ring: {
            gops: 3,
            bytes: 1_234_567,
            pinnedBytes: 0,
            clusters: 5,
            evictedGops: 0,
            seconds: 4.5,
          } as MountStatus["ring"],
        },
        "Thu, 01 Jan 2026 01:02:05 GMT",
      ),
    ],
  );
  assertEquals(page.text("url"), "http://127.0.0.1:8080/stream");
  await page.settle();
  assertEquals(page.text("stat-viewers"), "1");
  assertEquals(page.text("stat-bitrate-in"), "—", "no rate from one sample");
  assertEquals(page.text("stat-uptime"), "1h 02m 03s");
  assertEquals(page.element("row-uptime").hidden, false);
  page.advance(2000);
  await page.settle();
  assertEquals(page.text("stat-state"), "live");
  assertEquals(page.text("stat-viewers"), "3");
  assertEquals(page.text("stat-bitrate-in"), "1.00 Mbit/s");
  assertEquals(page.text("stat-bitrate-out"), "8.0 kbit/s");
  assertEquals(page.text("stat-uptime"), "1h 02m 05s");
  assertEquals(page.text("stat-skips"), "4");
  assertEquals(page.text("stat-buffer"), "4.5 s (3 GOPs, 1.23 MB)");
  assertEquals(page.text("stat-bytes"), "251 kB / 2.00 kB");
  assertMatch(page.text("updated"), /^Updated /);
  // The tracks were rendered by the server and did not change: the list is left alone.
  assertEquals(page.element("tracks").children, []);
});

Deno.test("the page's script hides uptime without startedAt and renders tracks once the source starts", async () => {
  const page = runScript(playerPage(new Mount("stream")), [
    statusResponse({ state: "waiting" }),
    statusResponse({
      docType: "matroska",
      contentType: "video/x-matroska",
      tracks: [
        {
          number: 1,
          kind: "video",
          type: 1,
          codecId: "V_MPEG4/ISO/AVC",
          width: 320,
          height: 240,
        },
        {
          number: 2,
          kind: "audio",
          type: 2,
          codecId: "A_AAC",
          sampleRate: 44100,
          channels: 2,
        },
      ],
    }),
  ]);
  await page.settle();
  assertEquals(page.text("stat-state"), "waiting");
  assert(page.element("row-uptime").hidden);
  page.advance(2000);
  await page.settle();
  assertEquals(
    page.element("tracks").children.map((li) => li.textContent),
    [
      "#1 video: H.264 (V_MPEG4/ISO/AVC), 320×240",
      "#2 audio: AAC (A_AAC), 44100 Hz, 2 ch",
    ],
  );
  assertEquals(page.element("support").className, "support chromium");
  assertStringIncludes(
    page.text("support"),
    "Firefox and Safari do not play H.264 and AAC in Matroska",
  );
  assertEquals(page.text("content-type"), "video/x-matroska");
});

Deno.test("the page's script says when /status cannot be reached, and when the video fails", async () => {
  const page = runScript(playerPage(new Mount("stream")), []);
  await page.settle();
  assertEquals(page.text("updated"), "Cannot reach /status: Failed to fetch");
  assertEquals(page.element("updated").className, "error");
  // A MediaError: code 4 is MEDIA_ERR_SRC_NOT_SUPPORTED.
  const video = page.element("video") as StubElement & { error?: unknown };
  video.error = { code: 4, message: "DEMUXER_ERROR_NO_SUPPORTED_STREAMS" };
  video.listeners.get("error")!();
  assertEquals(
    page.text("video-error"),
    "The browser stopped playing: format not supported (DEMUXER_ERROR_NO_SUPPORTED_STREAMS)",
  );
});
