/**
 * ffmpeg reads mkserver's segments as a player would: the LL-HLS (CMAF) and CMAF DASH of an
 * H.264 (B-frames) + AAC source, and the WebM DASH of a VP8 + Opus source. The capture must hold
 * both tracks and decode with no error. ffmpeg's HLS/DASH readers ignore SIGTERM while retrying,
 * so they run under `timeout -s KILL`.
 */

import { assert, assertEquals } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { captureSegmented, CliServer, run } from "./_cli.ts";

async function capture(fixture: string, path: string, expected: string[]) {
  await using server = await CliServer.start(["--port", "0", "--loop", `testdata/${fixture}`]);
  const url = server.url(path);
  assert(
    await until(async () => {
      const r = await fetch(url).catch(() => undefined);
      const text = (await r?.text()) ?? "";
      // A player joins a few segments back from the edge: wait until every track has three.
      const counts = [...text.matchAll(/<SegmentTimeline>([\s\S]*?)<\/SegmentTimeline>/g)]
        .map((m) =>
          [...m[1].matchAll(/<S [^>]*?(?:r="([0-9]+)")?\/>/g)]
            .reduce((n, e) => n + 1 + Number(e[1] ?? 0), 0)
        );
      return r?.status === 200 && counts.every((n) => n >= 3);
    }, 30_000),
    `${url} never answered 200:\n${server.log}`,
  );
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/capture.mkv`;
    const got = await captureSegmented(url, out, 5);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(got.codecs, expected);
    const decoded = await run("ffmpeg", ["-v", "error", "-nostdin", "-i", out, "-f", "null", "-"]);
    assertEquals([decoded.code, decoded.stderr], [0, ""]);
    // /status shows what the packager holds; /metrics counts what was served.
    const status = await (await fetch(server.url("/status"))).json();
    const segments = status.mounts[0].segments;
    assert(segments.bytes > 0 && segments.epoch.length > 0, JSON.stringify(segments));
    const metrics = await (await fetch(server.url("/metrics"))).text();
    const served = (kind: string) =>
      Number(
        new RegExp(`mkserver_segment_requests_total\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1],
      );
    assert(
      served("init") >= 2 && served(path.endsWith(".mpd") ? "manifest" : "playlist") >= 1,
      metrics,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("ffmpeg captures the LL-HLS of H.264 + AAC: both tracks, decoded clean", async () => {
  await capture("h264_aac.mkv", "/live/stream/index.m3u8", ["aac", "h264"]);
});

Deno.test("ffmpeg captures the CMAF DASH of H.264 + AAC: both tracks, decoded clean", async () => {
  await capture("h264_aac.mkv", "/live/stream/manifest.mpd", ["aac", "h264"]);
});

Deno.test("ffmpeg captures the WebM DASH of VP8 + Opus: both tracks, decoded clean", async () => {
  await capture("sample.webm", "/live/stream/manifest.mpd", ["opus", "vp8"]);
});

Deno.test("a VP8 stream has no HLS: 404 saying why and which URL works", async () => {
  await using server = await CliServer.start(["--port", "0", "--loop", "testdata/sample.webm"]);
  const response = await fetch(server.url("/live/stream/index.m3u8"));
  const body = await response.text();
  assertEquals(response.status, 404);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assert(body.includes("V_VP8") && body.includes("/live/stream"), body);
});
