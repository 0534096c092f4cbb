// The recordings routes: the JSON list, and a file with byte ranges, against the handler, the
// real server, ffmpeg (which seeks with ranges) and Chromium (a <video> that seeks).
import { assert, assertEquals, assertMatch } from "@std/assert";
import { createHandler } from "../lib/server/handler.ts";
import { serveMount } from "../lib/server/serve.ts";
import { Mount } from "../lib/stream/mount.ts";
import { encodeMedia } from "../bench/_media.ts";
import { launchBrowser, waitFor } from "./_browser.ts";
import { recorder } from "./_util.ts";

const NAME = "20261201T113239.123Z.mkv";

/** A recordings folder with one VP8 + Opus file under the recorder's name, and its bytes. */
async function recordingsDir(): Promise<{ dir: string; bytes: Uint8Array }> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_rec_" });
  await Deno.mkdir(`${dir}/stream`);
  const path = `${dir}/stream/${NAME}`;
  await encodeMedia(path + ".webm", {
    seconds: 12,
    bitrate: 300_000,
    codec: "vp8",
    size: "320x180",
  });
  await Deno.rename(path + ".webm", path);
  return { dir, bytes: await Deno.readFile(path) };
}

function get(handler: ReturnType<typeof createHandler>, path: string, headers: HeadersInit = {}) {
  return handler(new Request(`http://localhost${path}`, { headers }));
}

Deno.test("recordingsRoute lists the files and serves ranges byte for byte", async (t) => {
  const { dir, bytes } = await recordingsDir();
  const handler = createHandler(new Mount("stream"), { recordDir: dir });
  const url = `/live/stream/recordings/${NAME}`;
  try {
    await t.step("the list: start, duration, bytes, url", async () => {
      const response = await get(handler, "/live/stream/recordings");
      assertEquals(response.status, 200);
      const list = await response.json();
      assertEquals(list.recordings.length, 1);
      const [r] = list.recordings;
      assertEquals([r.name, r.url, r.bytes, r.finished], [NAME, url, bytes.length, true]);
      assert(Math.abs(r.duration - 12) < 0.1, `duration ${r.duration}`);
      // ffmpeg wrote no DateUTC here: the start is the name's.
      assertEquals(r.start, "2026-12-01T11:32:39.123Z");
    });
    await t.step("the whole file", async () => {
      const response = await get(handler, url);
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("accept-ranges"), "bytes");
      assertEquals(response.headers.get("content-length"), String(bytes.length));
      assertEquals(response.headers.get("content-type"), "video/webm");
      assertEquals(new Uint8Array(await response.arrayBuffer()), bytes);
    });
    const etag = (await get(handler, url, { range: "bytes=0-0" }).then(async (r) => {
      await r.body?.cancel();
      return r.headers.get("etag");
    }))!;
    assertMatch(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const n = bytes.length;
    const cases: [string, number, number][] = [
      ["bytes=100-999", 100, 999],
      ["bytes=5000-", 5000, n - 1],
      ["bytes=-777", n - 777, n - 1],
      [`bytes=${n - 10}-${n + 1000}`, n - 10, n - 1],
    ];
    for (const [range, first, last] of cases) {
      await t.step(`206 for ${range}`, async () => {
        const response = await get(handler, url, { range });
        assertEquals(response.status, 206);
        assertEquals(response.headers.get("content-range"), `bytes ${first}-${last}/${n}`);
        assertEquals(response.headers.get("content-length"), String(last + 1 - first));
        assertEquals(new Uint8Array(await response.arrayBuffer()), bytes.subarray(first, last + 1));
      });
    }
    await t.step("416 past the end, with the size", async () => {
      const response = await get(handler, url, { range: `bytes=${n}-` });
      assertEquals(response.status, 416);
      assertEquals(response.headers.get("content-range"), `bytes */${n}`);
      await response.body?.cancel();
    });
    await t.step("If-None-Match and If-Range", async () => {
      const same = await get(handler, url, { "if-none-match": etag });
      assertEquals(same.status, 304);
      const stale = await get(handler, url, { range: "bytes=0-9", "if-range": '"0-0"' });
      assertEquals(stale.status, 200); // another version: the whole file
      assertEquals((await stale.arrayBuffer()).byteLength, n);
      const fresh = await get(handler, url, { range: "bytes=0-9", "if-range": etag });
      assertEquals(fresh.status, 206);
      assertEquals((await fresh.arrayBuffer()).byteLength, 10);
    });
    await t.step("only the recorder's names: no traversal", async () => {
      for (
        const path of [
          "/live/stream/recordings/..%2F..%2Fetc%2Fpasswd",
          "/live/stream/recordings/%2e%2e",
          `/live/stream/recordings/x${NAME}`,
          "/live/stream/recordings/20261301T000000.000Z.mkv",
        ]
      ) {
        const response = await get(handler, path);
        assertEquals(response.status, 404, path);
        await response.body?.cancel();
      }
      const absent = await get(handler, "/live/stream/recordings/20261201T000000.000Z.mkv");
      assertEquals(absent.status, 404);
      await absent.body?.cancel();
      const traversal = await get(handler, "/live/stream/recordings/../../etc/passwd");
      assertEquals(traversal.status, 404); // URL parsing resolves the dots: not under /recordings
      await traversal.body?.cancel();
    });
    await t.step("a bad mount name is 400, a bad escape too", async () => {
      for (
        const path of [
          "/live/a%2Fb/recordings",
          "/live/%E0%A4%A/recordings",
          "/live/%00/recordings",
        ]
      ) {
        const response = await get(handler, path);
        assertEquals(response.status, 400, path);
        await response.body?.cancel();
      }
      const bad = await get(handler, "/live/stream/recordings/%E0%A4%A");
      assertEquals(bad.status, 404);
      await bad.body?.cancel();
    });
    await t.step("off without a directory", async () => {
      const off = createHandler(new Mount("stream"));
      const response = await get(off, "/live/stream/recordings");
      assertEquals(response.status, 404);
      assertMatch(await response.text(), /--record DIR/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server streams ranges of a recording, and ffmpeg seeks in it", async () => {
  const { dir, bytes } = await recordingsDir();
  const server = serveMount(new Mount("stream"), {
    hostname: "127.0.0.1",
    port: 0,
    recordDir: dir,
  });
  const url = `http://127.0.0.1:${server.addr.port}/live/stream/recordings/${NAME}`;
  try {
    for (
      const [start, end] of [[0, 99], [1000, 200_000], [bytes.length - 5000, bytes.length - 1]]
    ) {
      const response = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
      assertEquals(response.status, 206);
      assertEquals(new Uint8Array(await response.arrayBuffer()), bytes.subarray(start, end + 1));
    }
    // ffmpeg seeks with a Range request: the frame it decodes first is at the time asked for.
    const out = await new Deno.Command("ffprobe", {
      args: [
        ...["-v", "error", "-read_intervals", "8%+0.5", "-select_streams", "v"],
        ...["-show_entries", "frame=pts_time", "-of", "csv=p=0", url],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, stderr);
    const times = new TextDecoder().decode(out.stdout).trim().split("\n").map(Number);
    assert(times.length > 0 && times[0] >= 6 && times[0] <= 8.5, `frames at ${times.slice(0, 3)}`);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Chromium seeks a recording in a <video> and plays on from there", async () => {
  const { dir } = await recordingsDir();
  const server = serveMount(new Mount("stream"), {
    hostname: "127.0.0.1",
    port: 0,
    recordDir: dir,
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/status`);
    await page.setContent(
      `<video id="v" muted preload="auto" src="${base}/live/stream/recordings/${NAME}"></video>`,
    );
    // Strings run in the page: the tests are type-checked without the DOM library.
    type State = { time: number; ready: number; seeking: boolean; error: string | null };
    const probe = () =>
      page.evaluate<State>(`(() => {
        const v = document.getElementById("v");
        return { time: v.currentTime, ready: v.readyState, seeking: v.seeking,
          error: v.error ? v.error.code + " " + v.error.message : null };
      })()`);
    await waitFor(
      probe,
      (s) => s.ready >= 1,
      20_000,
      (s) => `the video never loaded its metadata: ${JSON.stringify(s)}`,
    );
    await page.evaluate(`(() => {
      const v = document.getElementById("v");
      v.currentTime = 9;
      return v.play();
    })()`);
    const state = await waitFor(
      probe,
      (s) => !s.seeking && s.time > 9.5,
      20_000,
      (s) => `the video did not play past 9.5 s after seeking to 9: ${JSON.stringify(s)}`,
    );
    assertEquals(state.error, null);
    assert(state.time < 12.1);
  } finally {
    await browser.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recordingsRoute leaves out files that are not recordings, and serves the rest", async () => {
  const { dir, bytes } = await recordingsDir();
  const logs = recorder();
  const handler = createHandler(new Mount("stream"), { recordDir: dir, log: logs.log });
  try {
    const folder = `${dir}/stream`;
    // Not Matroska; a Matroska header then garbage where the Clusters go; a file cut inside a
    // Cluster (a recorder that died, or one still writing); a folder with a recording's name.
    await Deno.writeTextFile(`${folder}/20261201T000000.000Z.mkv`, "<html>not a video</html>");
    const garbage = bytes.slice();
    const firstCluster = garbage.findIndex((_, i) =>
      garbage[i] === 0x1F && garbage[i + 1] === 0x43 && garbage[i + 2] === 0xB6
    );
    garbage.fill(0, firstCluster);
    await Deno.writeFile(`${folder}/20261201T000001.000Z.mkv`, garbage);
    await Deno.writeFile(`${folder}/20261201T000002.000Z.mkv`, bytes.subarray(0, 100_000));
    await Deno.mkdir(`${folder}/20261201T000003.000Z.mkv`);
    const response = await get(handler, "/live/stream/recordings");
    assertEquals(response.status, 200);
    const list = await response.json();
    assertEquals(
      list.recordings.map((r: { name: string; finished: boolean }) => [r.name, r.finished]),
      [["20261201T000002.000Z.mkv", false], [NAME, true]],
    );
    assertEquals(logs.lines.filter((l) => l.startsWith("warn ")).length, 2, logs.lines.join("\n"));
    assertMatch(logs.lines.join("\n"), /20261201T000000\.000Z\.mkv left out: Not a Matroska file/);
    // Each file is still served as bytes: the list only says what a player can use.
    const cut = await get(handler, "/live/stream/recordings/20261201T000002.000Z.mkv");
    assertEquals(new Uint8Array(await cut.arrayBuffer()), bytes.subarray(0, 100_000));
    const folderAsFile = await get(handler, "/live/stream/recordings/20261201T000003.000Z.mkv");
    assertEquals(folderAsFile.status, 404);
    await folderAsFile.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
