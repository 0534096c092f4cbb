/**
 * A source restart on a pushed mount: source A pushes 12 s of H.264 + AAC to `PUT /live/cam`,
 * stops, and source B pushes the same tracks 4 s later (within `--source-grace`). Through it,
 * hls.js and dash.js in Chromium keep playing (currentTime advances after the restart) and an ffmpeg HLS
 * reader captures across both sources. The playlists and the MPD, polled all along, keep their
 * numbering (media sequence monotonic, segment numbers contiguous, no URL whose bytes changed),
 * list the absence as EXT-X-GAP segments, and open a period-connected DASH Period for B.
 */

import { assert, assertEquals, assertGreater } from "@std/assert";
import { sleep, until } from "../bench/_proc.ts";
import { launchBrowser } from "./_browser.ts";
import { CliServer, ffmpegPush, fixturePath, run } from "./_cli.ts";
import { type PlayerState, playerState, servePlayers } from "./_players.ts";

const TOKEN = "restart-token";
const GAP_MS = 4000;

/** What the poller saw of the playlists and the MPD. */
interface Seen {
  sequences: number[];
  numbers: Set<number>;
  /** The numbers listed as EXT-X-GAP. */
  gaps: Set<number>;
  /** Segment URL → its bytes' digest, when first fetched. */
  digests: Map<string, string>;
  mpd: string;
  failures: string[];
  /** The longest a plain playlist or MPD request took (ms): never held, gap or not. */
  slowest: number;
}

async function digest(bytes: ArrayBuffer): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Polls the video playlist and the MPD until `stop`, fetching every segment once. */
async function poll(server: CliServer, stop: AbortSignal): Promise<Seen> {
  const seen: Seen = {
    sequences: [],
    numbers: new Set(),
    gaps: new Set(),
    digests: new Map(),
    mpd: "",
    failures: [],
    slowest: 0,
  };
  const base = server.url("/live/cam/hls/");
  const timed = async (url: string) => {
    const t0 = performance.now();
    const r = await fetch(url);
    const text = await r.text();
    seen.slowest = Math.max(seen.slowest, performance.now() - t0);
    return { r, text };
  };
  while (!stop.aborted) {
    const { r, text } = await timed(`${base}v1.m3u8`);
    if (r.status !== 200) {
      seen.failures.push(`v1.m3u8 ${r.status} ${text.trim()}`);
    } else {
      seen.sequences.push(Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]));
      for (
        const m of text.matchAll(/^(#EXT-X-GAP\n#EXTINF:.*\n)?(\.\.\/e\/\w+\/v1\/(\d+)\.m4s)$/gm)
      ) {
        seen.numbers.add(Number(m[3]));
        // A gap segment has no media: players must not load it.
        if (m[1]) seen.gaps.add(Number(m[3]));
        const url = new URL(m[2], base).href;
        if (m[1] || seen.digests.has(url)) continue;
        const s = await fetch(url);
        if (s.status === 200) seen.digests.set(url, await digest(await s.arrayBuffer()));
        else seen.failures.push(`${url} ${s.status} ${(await s.text()).trim()}`);
      }
    }
    const mpd = await timed(server.url("/live/cam/manifest.mpd"));
    if (mpd.r.status === 200) seen.mpd = mpd.text;
    else seen.failures.push(`manifest.mpd ${mpd.r.status} ${mpd.text.trim()}`);
    await sleep(500);
  }
  return seen;
}

Deno.test("a pushed mount's source restarts: hls.js, dash.js and ffmpeg play on, numbering continues", async () => {
  const dir = await Deno.makeTempDir();
  const pages = servePlayers();
  const browser = await launchBrowser();
  await using server = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    TOKEN,
    "--source-grace",
    "10",
  ]);
  try {
    // 12 s of the 6 s fixture, as one source would send it.
    const source = `${dir}/twelve.mkv`;
    const made = await run("ffmpeg", [
      "-v",
      "error",
      "-stream_loop",
      "1",
      "-i",
      fixturePath("h264_aac.mkv"),
      "-c",
      "copy",
      source,
    ]);
    assertEquals(made.code, 0, made.stderr);
    const push = server.url("/live/cam");
    const sourceA = ffmpegPush(source, push, { token: TOKEN });
    assert(
      await until(async () => {
        const r = await fetch(server.url("/live/cam/hls/v1.m3u8")).catch(() => undefined);
        const text = (await r?.text()) ?? "";
        return r?.status === 200 && text.split("#EXTINF:").length > 3;
      }, 20_000),
      `no playlist of three segments:\n${server.log}`,
    );
    const stop = new AbortController();
    const polled = poll(server, stop.signal);
    const capture = `${dir}/capture.mkv`;
    const reader = run("timeout", [
      "-s",
      "KILL",
      "60",
      "ffmpeg",
      "-v",
      "error",
      "-nostdin",
      "-i",
      server.url("/live/cam/index.m3u8"),
      "-map",
      "0",
      "-c",
      "copy",
      "-t",
      "20",
      capture,
    ], { timeout: 65_000 });
    const page = await browser.context.newPage();
    await page.goto(pages.url("dash", server.url("/live/cam/manifest.mpd")));
    const hlsPage = await browser.context.newPage();
    await hlsPage.goto(pages.url("hls", server.url("/live/cam/index.m3u8")));
    const states: { at: number; state: PlayerState }[] = [];
    const hlsStates: PlayerState[] = [];
    const sample = async () => {
      states.push({ at: performance.now(), state: await playerState(page) });
      hlsStates.push(await playerState(hlsPage));
    };

    const pushedA = await sourceA;
    assertEquals(pushedA.code, 0, pushedA.stderr);
    await sample();
    const endedA = states[states.length - 1].state;
    const hlsEndedA = hlsStates[hlsStates.length - 1];
    await sleep(GAP_MS);
    const sourceB = ffmpegPush(source, push, { token: TOKEN });
    await server.waitForLine(/a source with the same tracks continues the stream/, 10_000);
    for (let i = 0; i < 16; i++) {
      await sleep(500);
      await sample();
    }
    const pushedB = await sourceB;
    assertEquals(pushedB.code, 0, pushedB.stderr);
    await sample();
    stop.abort();
    const seen = await polled;
    const last = states[states.length - 1].state;

    // dash.js: played before the restart and went on playing B (at least 5 s more of media).
    assertGreater(endedA.currentTime, 1, `dash.js had not started: ${JSON.stringify(endedA)}`);
    assertGreater(
      last.currentTime,
      endedA.currentTime + 5,
      `dash.js did not play on after the restart: ${
        JSON.stringify(states.map((s) => s.state.currentTime))
      }`,
    );
    assertEquals(last.errors, []);
    assertGreater(last.audioBytes, endedA.audioBytes);
    assertGreater(last.videoBytes, endedA.videoBytes);
    // hls.js the same, over the EXT-X-GAP segments of the absence.
    const hlsLast = hlsStates[hlsStates.length - 1];
    assertGreater(hlsEndedA.currentTime, 1, `hls.js had not started: ${JSON.stringify(hlsEndedA)}`);
    assertGreater(
      hlsLast.currentTime,
      hlsEndedA.currentTime + 5,
      `hls.js did not play on after the restart: ${
        JSON.stringify(hlsStates.map((s) => s.currentTime))
      }`,
    );
    assertEquals(hlsLast.errors, []);
    assertGreater(hlsLast.videoBytes, hlsEndedA.videoBytes);

    // ffmpeg: 20 s in all, the gap's 4 s included; more frames than source A's 12 s hold (300),
    // so B's media is in it; it decodes clean.
    const read = await reader;
    assertEquals(read.code, 0, read.stderr);
    const probe = await run("ffprobe", [
      "-v",
      "error",
      "-count_packets",
      "-show_entries",
      "stream=codec_name,nb_read_packets",
      "-of",
      "csv=p=0",
      capture,
    ]);
    const packets = new Map(
      probe.stdout.trim().split("\n").map((l) => l.split(",")).map(([c, n]) => [c, Number(n)]),
    );
    assertEquals([...packets.keys()].sort(), ["aac", "h264"]);
    assertGreater(packets.get("h264")!, 320, probe.stdout);
    const decoded = await run("ffmpeg", [
      "-v",
      "error",
      "-nostdin",
      "-i",
      capture,
      "-f",
      "null",
      "-",
    ]);
    assertEquals([decoded.code, decoded.stderr], [0, ""]);

    // Numbering and bytes: every answer 200, sequence monotonic, numbers contiguous across the
    // restart, and no segment URL whose bytes changed.
    assertEquals(seen.failures, []);
    assert(seen.slowest < 1500, `a playlist request took ${seen.slowest} ms`);
    for (let i = 1; i < seen.sequences.length; i++) {
      assert(
        seen.sequences[i] >= seen.sequences[i - 1],
        `media sequence went back: ${seen.sequences}`,
      );
    }
    // While A was away (4 s and B's start), the playlist went on with gap segments of 2 s.
    assert(seen.gaps.size >= 2 && seen.gaps.size <= 5, `gaps: ${[...seen.gaps]}`);
    const numbers = [...seen.numbers].sort((a, b) => a - b);
    assertEquals(numbers.length, numbers[numbers.length - 1] - numbers[0] + 1, `${numbers}`);
    assertGreater(numbers.length, 8, `${numbers}`);
    for (const [url, first] of seen.digests) {
      const again = await fetch(url);
      if (again.status !== 200) {
        await again.body?.cancel();
        continue;
      }
      assertEquals(await digest(await again.arrayBuffer()), first, url);
    }
    // DASH: B opened a Period connected to A's, its numbers continuing A's.
    const periods = [...seen.mpd.matchAll(/<Period id="([^"]+)"[\s\S]*?<\/Period>/g)];
    assertGreater(periods.length, 1, seen.mpd);
    const lastPeriod = periods[periods.length - 1][0];
    assert(lastPeriod.includes("urn:mpeg:dash:period-connectivity:2015"), lastPeriod);
    await page.close();
  } finally {
    await browser.close();
    await pages.close();
    await Deno.remove(dir, { recursive: true });
  }
});
