/**
 * The player page's live player (lib/server/live_player.js) in headless Chromium: a looped VP8/Opus
 * stream plays through Media Source near the live edge with a bounded buffer, the page shows and
 * reports how far behind live it plays, and after the video was paused it catches up again.
 * A page opened before the source waits for its codecs. (H.264/AAC, which Chromium's Media Source
 * does not take, is in browser_test.ts.)
 */

import { assert, assertEquals, assertGreater, assertLessOrEqual, assertMatch } from "@std/assert";
import { launchBrowser, waitFor } from "./_browser.ts";
import type { Page } from "./_playwright.ts";
import { CliServer, fixturePath } from "./_cli.ts";

/** What `mkserverPlayer.state()` says, with the `<video>`'s own figures. */
interface PlayerState {
  mode: string;
  behind: number | undefined;
  ahead: number;
  buffered: number;
  rate: number;
  jumps: number;
  nudges: number;
  currentTime: number;
  paused: boolean;
  shown: string;
}

/** Resumes the video (not awaiting `play()`'s promise, which waits for playback to start). */
const PLAY = `void document.getElementById("video").play()`;
const PAUSE = `document.getElementById("video").pause()`;

/** Run in the page (the tests are type-checked without the DOM library). */
const STATE = `(() => {
  const video = document.getElementById("video");
  return { ...globalThis.mkserverPlayer.state(), currentTime: video.currentTime,
    paused: video.paused, shown: document.getElementById("stat-latency").textContent };
})()`;

function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate<PlayerState>(STATE);
}

/** The count of latency reports `/metrics` has for the default mount. */
async function reportCount(server: CliServer): Promise<number> {
  const text = await (await fetch(server.url("/metrics"))).text();
  const m = text.match(/^mkserver_viewer_latency_seconds_count\{mount="stream"\} (\d+)$/m);
  return m ? Number(m[1]) : 0;
}

/** How far behind the server's newest block the video plays, measured by the test itself. */
async function measuredBehind(server: CliServer, page: Page): Promise<number> {
  const edge = (await (await fetch(server.url("/live/stream/edge"))).json()).liveTime as number;
  return edge - (await playerState(page)).currentTime;
}

Deno.test("the live player plays VP8/Opus through Media Source near the live edge, reports it, and catches up after a pause", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--loop",
    "testdata/sample.webm",
  ]);
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(server.url("/"));
    const explain = (what: string) => (last: PlayerState | undefined) =>
      `${what}: last state ${JSON.stringify(last)}; page errors ${JSON.stringify(errors)}\n` +
      `server log:\n${server.log}`;
    const playing = await waitFor(
      () => playerState(page),
      (s) => s.mode === "mse" && !s.paused && s.behind !== undefined && s.currentTime > 1,
      15_000,
      explain("The page did not play through Media Source within 15 s"),
    );
    const start = playing.currentTime;

    // Near the edge and bounded for 8 s of play; the page's figure agrees with the test's own.
    let maxBuffered = 0;
    for (let i = 0; i < 16; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const s = await playerState(page);
      assertEquals(s.mode, "mse");
      maxBuffered = Math.max(maxBuffered, s.buffered);
      assertLessOrEqual(s.behind!, 3, `far behind live: ${JSON.stringify(s)}`);
    }
    const s = await playerState(page);
    assertGreater(s.currentTime - start, 5, `the video advances: ${JSON.stringify(s)}`);
    assertMatch(s.shown, /^\d+\.\d\d s/, "the page shows seconds behind live");
    const own = await measuredBehind(server, page);
    const page1 = (await playerState(page)).behind!;
    assert(Math.abs(own - page1) < 0.5, `the page says ${page1} s behind, the test ${own} s`);

    // The server counted the page's reports.
    await waitFor(
      () => reportCount(server),
      (n) => n >= 2,
      6_000,
      (n) => `/metrics counted ${n} latency reports within 6 s`,
    );

    // Paused for 4 s, the video falls behind; once it plays again the page catches up.
    await page.evaluate(PAUSE);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const paused = await playerState(page);
    assertGreater(paused.behind!, 3.5, `paused 4 s: ${JSON.stringify(paused)}`);
    await page.evaluate(PLAY);
    const caught = await waitFor(
      () => playerState(page),
      (s) => !s.paused && s.behind !== undefined && s.behind <= 1.5,
      15_000,
      explain("The page did not come back within 1.5 s of live within 15 s of resuming"),
    );
    assertGreater(caught.jumps, paused.jumps, "it jumped towards the edge");
    assertLessOrEqual(maxBuffered, 9, "what lies behind the playhead is removed");

    // Not chasing (a control that plays behind live on purpose), a pause is kept: the video
    // plays on from where it was, behind live.
    await page.evaluate("globalThis.mkserverPlayer.chase = false");
    await page.evaluate(PAUSE);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await page.evaluate(PLAY);
    const resumed = await playerState(page);
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const later = await playerState(page);
    assertGreater(later.currentTime - resumed.currentTime, 2, JSON.stringify({ resumed, later }));
    assertEquals(later.jumps, caught.jumps, "no jump without chasing");
    assertGreater(later.behind!, 2.5, `still behind live: ${JSON.stringify(later)}`);
    assertLessOrEqual(later.buffered, 12, "the remover still runs");
    assertEquals(errors, [], "the page's scripts threw");
  } finally {
    await browser.close();
  }
});

Deno.test("the live player opened before the source starts plays it through Media Source once its codecs are known", async () => {
  await using server = await CliServer.start(["--port", "0", "--host", "127.0.0.1", "-"], {
    stdin: true,
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(server.url("/"));
    // No tracks yet: the page has no Media Source type and asks /status until there are some.
    assertEquals(await page.locator("body").getAttribute("data-mse-type"), null);
    assertEquals((await playerState(page)).mode, "starting");
    // sample.webm (10 s) in 20 pieces, one every 0.5 s: about real time.
    const bytes = await Deno.readFile(fixturePath("sample.webm"));
    const piece = Math.ceil(bytes.length / 20);
    let first: PlayerState | undefined;
    let state: PlayerState | undefined;
    for (let at = 0; at < bytes.length; at += piece) {
      await server.write(bytes.subarray(at, at + piece));
      await new Promise((resolve) => setTimeout(resolve, 500));
      state = await playerState(page);
      if (state.mode === "mse" && state.currentTime > 0) first ??= state;
    }
    assertEquals(
      state?.mode,
      "mse",
      `the page plays through Media Source: ${JSON.stringify(state)}`,
    );
    assert(first !== undefined, "it started while the source was coming");
    // Fed for 10 s, it started within the first few and played on from there.
    assertGreater(state!.currentTime - first.currentTime, 3, JSON.stringify({ first, state }));
    assertEquals(errors, [], "the page's scripts threw");
  } finally {
    await browser.close();
  }
});
