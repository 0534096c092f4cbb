/**
 * A real browser plays the stream: headless Chromium (Debian's `chromium`, driven by
 * `playwright-core`) opens the player page served by the mkserver CLI, and the page's `<video>`
 * plays VP8/Opus WebM and H.264/AAC Matroska while its live stats follow `/status`.
 *
 * Needs /usr/bin/chromium (`.ci/install-browser` installs it); without it the tests fail, they
 * never skip. `--dump-dom --virtual-time-budget` cannot check a live stream (virtual time
 * outruns it), so playback is polled in real time.
 */

import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { launchBrowser, waitFor } from "./_browser.ts";
import type { BrowserContext, Page } from "./_playwright.ts";
import { CliServer } from "./_cli.ts";

/** What the page's `<video>` reports. */
interface VideoState {
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  readyState: number;
  paused: boolean;
  error: string | null;
}

/**
 * Reads the `<video>`'s state in the page. A string, run in the page: the tests are type-checked
 * without the DOM library, so a function touching `document` would not compile here.
 */
const VIDEO_STATE = `(() => {
  const video = document.querySelector("video");
  return {
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    currentTime: video.currentTime,
    readyState: video.readyState,
    paused: video.paused,
    error: video.error ? video.error.code + " " + video.error.message : null,
  };
})()`;

function videoState(page: Page): Promise<VideoState> {
  return page.evaluate<VideoState>(VIDEO_STATE);
}

/** The page's and the server's side of a failure, for assertion messages. */
async function diagnose(
  page: Page,
  server: CliServer,
  errors: string[],
): Promise<string> {
  const note = await page.locator("#video-error").textContent().catch(() => "?");
  return `video error note: ${JSON.stringify(note)}\npage errors: ${
    JSON.stringify(errors)
  }\nserver log:\n${server.log}`;
}

/**
 * Opens the player page of `server`, waits until the video plays (width `width`, past 1.0 s),
 * and returns the page with the errors its scripts threw.
 */
async function openPlaying(
  context: BrowserContext,
  server: CliServer,
  width: number,
): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const response = await page.goto(server.url("/"));
  assert(response !== null);
  assertEquals(response.status(), 200);
  assertMatch(
    (await response.allHeaders())["content-type"] ?? "",
    /^text\/html/,
    "a browser gets the player page at /",
  );
  const start = performance.now();
  const state = await waitFor(
    () => videoState(page),
    (s) => s.videoWidth === width && s.currentTime > 1.0,
    15_000,
    async (last) =>
      `The video did not play within 15 s (want videoWidth ${width} and currentTime > 1.0): ` +
      `last state ${JSON.stringify(last)}\n${await diagnose(
        page,
        server,
        errors,
      )}`,
  );
  console.log(
    `  playing after ${Math.round(performance.now() - start)} ms: ${JSON.stringify(state)}`,
  );
  return { page, errors };
}

/** Asserts the video keeps playing in real time: ≥ 2 s of media over 4 s of wall time. */
async function assertAdvances(page: Page): Promise<void> {
  // The check: currentTime advances by >= 2 s over 4 s of wall time. A loaded 2-core
  // machine can stall the decoder for a moment, so up to three 4 s windows are tried.
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await videoState(page);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const after = await videoState(page);
    assertEquals(after.error, null);
    const wall = (performance.now() - t0) / 1000;
    if (after.currentTime - before.currentTime >= 2) return;
    last = `currentTime went from ${before.currentTime} to ${after.currentTime} in ${
      wall.toFixed(1)
    } s of wall time (${JSON.stringify(after)})`;
  }
  assertGreaterOrEqual(0, 1, last);
}

/** How the live player plays the stream: `mse` or `progressive`. */
function playbackMode(page: Page): Promise<string> {
  return page.evaluate<string>("globalThis.mkserverPlayer.state().mode");
}

/** `/status` of the server's one mount. */
async function mountStatus(
  server: CliServer,
): Promise<{ viewers: number; state: string }> {
  const response = await fetch(server.url("/status"));
  const body = await response.json();
  return body.mounts[0];
}

/** Reads a PNG's signature and IHDR size; throws if it is not one. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assertEquals([...bytes.subarray(0, 8)], signature, "a PNG signature");
  assertEquals(
    new TextDecoder().decode(bytes.subarray(12, 16)),
    "IHDR",
    "the first PNG chunk is IHDR",
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

Deno.test("Chromium plays the VP8/Opus stream on the player page, whose live stats follow /status", async () => {
  // --loop: sample.webm lasts 10 s, and the checks below take longer than what is left of it
  // once Chromium has joined.
  await using server = await CliServer.start([
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--loop",
    "testdata/sample.webm",
  ]);
  const browser = await launchBrowser();
  const dir = await Deno.makeTempDir({ prefix: "mkserver_screenshot_" });
  try {
    const { page, errors } = await openPlaying(browser.context, server, 320);
    await assertAdvances(page);

    // The stats update every 2 s: wait until the page shows this viewer, as /status does.
    const shown = await waitFor(
      async () => ({
        page: await page.locator("#stat-viewers").textContent(),
        status: (await mountStatus(server)).viewers,
      }),
      (v) => Number(v.page) >= 1 && Number(v.page) === v.status,
      6_000,
      async (last) =>
        `The page's viewer count did not match /status within 6 s: ${
          JSON.stringify(last)
        }\n${await diagnose(page, server, errors)}`,
    );
    assertEquals(shown.status, 1, "one viewer: the page's <video>");
    assertEquals(await page.locator("#stat-state").textContent(), "live");
    assertMatch(
      (await page.locator("#stat-bitrate-in").textContent()) ?? "",
      /^\d+(\.\d+)? (k|M)bit\/s$/,
    );
    assertMatch(
      (await page.locator("#stat-uptime").textContent()) ?? "",
      /^\d+s$/,
    );
    assertEquals(
      await page.locator("#support").getAttribute("class"),
      "support webm",
    );
    assertEquals(await playbackMode(page), "mse", "WebM codecs play through Media Source");
    assertStringIncludes(
      (await page.locator("#tracks").textContent()) ?? "",
      "#1 video: VP8 (V_VP8), 320×240",
    );

    const path = `${dir}/player.png`;
    await page.screenshot({ path, fullPage: true });
    const png = await Deno.readFile(path);
    assertGreaterOrEqual(png.length, 1000, "a non-empty screenshot");
    const size = pngSize(png);
    assert(size.width > 0 && size.height > 0, JSON.stringify(size));
    // To look at it: MKSERVER_SCREENSHOT=/tmp/player.png deno test -A tests/browser_test.ts
    const keep = Deno.env.get("MKSERVER_SCREENSHOT");
    if (keep) await Deno.copyFile(path, keep);

    assertEquals(errors, [], "the page's script threw");
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Chromium plays H.264/AAC in Matroska on the player page, which says only Chromium does", async () => {
  // h264_aac.mkv lasts 6 s: --loop keeps it live through the checks.
  await using server = await CliServer.start([
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--loop",
    "testdata/h264_aac.mkv",
  ]);
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPlaying(browser.context, server, 320);
    await assertAdvances(page);
    assertEquals(
      await page.locator("#support").getAttribute("class"),
      "support chromium",
    );
    assertStringIncludes(
      (await page.locator("#support").textContent()) ?? "",
      "Firefox and Safari do not play H.264 and AAC in Matroska",
    );
    // Chromium's Media Source takes no H.264/AAC in WebM or Matroska: the <video> plays the
    // stream's URL itself, as before the live player, and no latency is claimed.
    assertEquals(await playbackMode(page), "progressive");
    assertEquals(
      await page.evaluate<string>(`document.getElementById("video").src`),
      server.url("/stream"),
    );
    assertStringIncludes(
      (await page.locator("#stat-latency").textContent()) ?? "",
      "not measured in progressive playback",
    );
    assertEquals(errors, [], "the page's script threw");
  } finally {
    await browser.close();
  }
});
