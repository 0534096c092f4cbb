/**
 * The player page's HLS fallback (lib/server/hls_fallback.js) in headless Chromium: a browser
 * that can neither take the stream through Media Source as WebM nor play Matroska in its
 * <video> (Safari, iOS; simulated here by making Chromium's `canPlayType` and
 * `isTypeSupported` deny Matroska and WebM) plays the mount's LL-HLS with hls.js, which mkserver
 * serves itself: no request leaves mkserver's origin.
 */

import { assert, assertEquals } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { launchBrowser, waitFor } from "./_browser.ts";
import { CliServer } from "./_cli.ts";

/** Makes the page's browser deny Matroska and WebM, as Safari does for Matroska. */
const DENY_MATROSKA = `(() => {
  const denied = (type) => /matroska|webm/i.test(String(type));
  const canPlay = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return denied(type) ? "" : canPlay.call(this, type);
  };
  const supported = MediaSource.isTypeSupported.bind(MediaSource);
  MediaSource.isTypeSupported = (type) => !denied(type) && supported(type);
})();`;

const STATE = `(() => {
  const video = document.getElementById("video");
  return { ...globalThis.mkserverPlayer.state(), currentTime: video.currentTime,
    width: video.videoWidth, shown: document.getElementById("stat-latency").textContent };
})()`;

interface State {
  mode: string;
  behind: number | undefined;
  currentTime: number;
  width: number;
  shown: string;
}

Deno.test("the player page falls back to the LL-HLS with mkserver's own hls.js where the <video> takes no Matroska", async () => {
  await using server = await CliServer.start(["--port", "0", "--loop", "testdata/h264_aac.mkv"]);
  assert(
    await until(async () => {
      const r = await fetch(server.url("/live/stream/hls/v1.m3u8")).catch(() => undefined);
      await r?.body?.cancel();
      return r?.status === 200;
    }, 20_000),
    server.log,
  );
  const script = await fetch(server.url("/player/hls.min.js"));
  assertEquals(script.status, 200);
  assert((await script.text()).includes("Hls"), "hls.js is served");
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.addInitScript(DENY_MATROSKA);
    const origin = new URL(server.url("/")).origin;
    const elsewhere: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("blob:")) elsewhere.push(r.url());
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(server.url("/player"));
    const state = () => page.evaluate<State>(STATE);
    const started = await waitFor(
      state,
      (s) => s.mode === "hls.js" && s.currentTime > 0.5 && s.width > 0,
      25_000,
      (last) => `no HLS playback: ${JSON.stringify(last)} ${pageErrors}\n${server.log}`,
    );
    const later = await waitFor(
      state,
      (s) => s.currentTime > started.currentTime + 2,
      15_000,
      (last) => `hls.js stalled: ${JSON.stringify(last)}`,
    );
    assert(
      typeof later.behind === "number" && later.behind > 0 && later.behind < 10,
      `no latency figure from hls.js: ${JSON.stringify(later)}`,
    );
    assert(later.shown.endsWith(" s") || later.shown.includes(" s "), later.shown);
    assertEquals(elsewhere, [], "the page loaded something from another origin");
    assertEquals(pageErrors, []);
    await page.close();
  } finally {
    await browser.close();
  }
});
