/**
 * Real players on mkserver's segments, in headless Chromium: hls.js (low-latency mode) plays the
 * LL-HLS of an H.264 + AAC source with B-frames, dash.js plays the same source as CMAF DASH and a
 * VP8 + Opus source as WebM DASH. Each must advance with wall time and decode both picture and
 * sound.
 */

import { assert, assertEquals } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { launchBrowser } from "./_browser.ts";
import { CliServer } from "./_cli.ts";
import { playerState, servePlayers, startPlayer } from "./_players.ts";

async function available(url: string): Promise<boolean> {
  return await until(async () => {
    const response = await fetch(url).catch(() => undefined);
    await response?.body?.cancel();
    return response?.status === 200;
  }, 20_000);
}

/** Plays `src` with `player` and checks it advances with wall time, decoding sound and picture. */
async function assertPlays(player: "hls" | "dash", fixture: string, path: string) {
  await using server = await CliServer.start(["--port", "0", "--loop", `testdata/${fixture}`]);
  const src = server.url(path);
  assert(await available(src), `${src} never answered 200:\n${server.log}`);
  const pages = servePlayers();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const { started, pageErrors } = await startPlayer(
      page,
      player,
      pages.url(player, src),
      () => server.log,
    );
    const t0 = performance.now();
    // Up to three 4 s windows: a loaded 2-core machine may stall the decoder for a moment.
    let last = started;
    let advanced = false;
    for (let i = 0; i < 3 && !advanced; i++) {
      const before = await playerState(page);
      const w0 = performance.now();
      await new Promise((r) => setTimeout(r, 4000));
      last = await playerState(page);
      const wall = (performance.now() - w0) / 1000;
      advanced = last.currentTime - before.currentTime >= 0.8 * wall;
    }
    assert(
      advanced,
      `${player} stalled: ${JSON.stringify(last)} after ${performance.now() - t0} ms`,
    );
    assertEquals(last.errors, [], `${player} errors`);
    assertEquals(pageErrors, []);
    assert(last.audioBytes > started.audioBytes, `no audio decoded: ${JSON.stringify(last)}`);
    assert(last.videoBytes > started.videoBytes, `no video decoded: ${JSON.stringify(last)}`);
    await page.close();
  } finally {
    await browser.close();
    await pages.close();
  }
}

Deno.test("hls.js plays the LL-HLS (CMAF) of an H.264 (B-frames) + AAC source", async () => {
  await assertPlays("hls", "h264_aac.mkv", "/live/stream/index.m3u8");
});

Deno.test("dash.js plays the CMAF DASH of an H.264 (B-frames) + AAC source", async () => {
  await assertPlays("dash", "h264_aac.mkv", "/live/stream/manifest.mpd");
});

Deno.test("dash.js plays the WebM DASH of a VP8 + Opus source", async () => {
  await assertPlays("dash", "sample.webm", "/live/stream/manifest.mpd");
});
