// Time-shifted joins (`?from=`) against a live H.264 + Opus stream that ffmpeg records as the
// recorder would (`DIR/stream/<start>.mkv`, DateUTC set, growing while the test runs): a join
// in the ring, one older than the ring that starts in the recording and runs on into live, and
// the refusals. mkvinfo, ffprobe and ffmpeg judge the captures.
import { assert, assertEquals, assertLess, assertMatch } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readUint } from "../lib/ebml/values.ts";
import { ingest } from "../lib/ingest/ingest.ts";
import { formatRecordingName } from "../lib/record/recording_name.ts";
import { serveMount } from "../lib/server/serve.ts";
import { Mount } from "../lib/stream/mount.ts";
import { makeMedia } from "../bench/_media.ts";
import { sleep } from "../bench/_proc.ts";
import { launchBrowser, waitFor } from "./_browser.ts";
import { decodeBytes, recorder } from "./_util.ts";

const decoder = new TextDecoder();

/** The Timestamps of the Clusters in `bytes`, and how many EBML headers it holds. */
function scan(bytes: Uint8Array): { clusters: number[]; headers: number } {
  const clusters: number[] = [];
  let headers = 0;
  let inCluster = false;
  new EbmlReader().push(bytes, (e) => {
    if (e.id === ID.EBML && e.type !== "end") headers++;
    if (e.id === ID.Cluster && e.type === "start") inCluster = true;
    if (e.id === ID.Timestamp && e.type === "element" && inCluster) {
      clusters.push(readUint(e.data));
      inCluster = false;
    }
  });
  return { clusters, headers };
}

/** Reads a response until its first Cluster's Timestamp, then cancels it. */
async function firstClusterTime(response: Response): Promise<number> {
  const reader = response.body!.getReader();
  const parser = new EbmlReader();
  let time: number | undefined;
  let inCluster = false;
  while (time === undefined) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.push(value, (e) => {
      if (e.id === ID.Cluster && e.type === "start") inCluster = true;
      if (e.id === ID.Timestamp && e.type === "element" && inCluster && time === undefined) {
        time = readUint(e.data);
      }
    });
  }
  await reader.cancel();
  assert(time !== undefined, "the response ended before its first Cluster");
  return time;
}

/** ffprobe's packets (time in seconds, MD5 of the data) of one stream of `path`, in file order. */
async function packets(path: string, stream: "v" | "a"): Promise<{ time: number; hash: string }[]> {
  const out = await new Deno.Command("ffprobe", {
    args: [
      ...["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,data_hash"],
      ...["-show_data_hash", "MD5", "-of", "csv=p=0", path],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, decoder.decode(out.stderr));
  return decoder.decode(out.stdout).split("\n").filter((l) => l !== "").map((line) => {
    const [time, hash] = line.split(",");
    return { time: Number(time), hash };
  });
}

Deno.test("?from= joins in the ring, or in the recordings and on into live with no gap", async (t) => {
  // One-second GOPs of 25 fps H.264 (no B-frames: x264 ultrafast) and Opus, 12 s in the ring.
  const media = await makeMedia({ seconds: 70, bitrate: 300_000, gop: 25, size: "320x180" });
  const dir = `${media.dir}/rec`;
  await Deno.mkdir(`${dir}/stream`, { recursive: true });
  const mount = new Mount("stream", { maxDuration: 12_000 });
  const stop = new AbortController();
  const file = await Deno.open(media.path);
  const fed = ingest(file.readable, mount, { realtime: true, preroll: 0, signal: stop.signal })
    .finally(() => mount.end());
  await mount.ready;
  const logs = recorder();
  const server = serveMount(mount, {
    hostname: "127.0.0.1",
    port: 0,
    recordDir: dir,
    log: logs.log,
  });
  const url = (path: string) => `http://127.0.0.1:${server.addr.port}${path}`;
  // The recorder's stand-ins: viewers that write the stream to files named by their start, the
  // second begun 2 s before the first stops (files may overlap; the lead-in must not repeat).
  const record = (started: Date) =>
    new Deno.Command("ffmpeg", {
      args: [
        ...["-v", "error", "-nostdin", "-i", url("/live/stream"), "-c", "copy"],
        ...["-metadata", `creation_time=${started.toISOString()}`, "-f", "matroska"],
        `${dir}/stream/${formatRecordingName(started)}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  const started = new Date();
  const recorders = [record(started)];
  try {
    await sleep(12_000);
    recorders.push(record(new Date()));
    await sleep(2_000);
    recorders[0].kill("SIGINT"); // ffmpeg finishes the file: Cues, SeekHead, Duration
    assertEquals((await recorders[0].status).code, 255);
    await sleep(14_000);
    const ms = mount.ring.msPerUnit;

    await t.step("the list shows the finished recording and the growing one", async () => {
      const list = await (await fetch(url("/live/stream/recordings"))).json();
      assertEquals(list.recordings.map((r: { finished: boolean }) => r.finished), [true, false]);
      const [first, second] = list.recordings;
      assert(first.duration > 12 && first.duration < 16, JSON.stringify(first));
      assert(second.bytes > 100_000 && second.duration > 5, JSON.stringify(second));
    });

    await t.step(
      "-10s starts in the ring, 10 s (to one GOP more) behind the newest media",
      async () => {
        const edge = mount.newestTime;
        const first = await firstClusterTime(await fetch(url("/live/stream?from=-10s")));
        const behind = (edge - first) * ms;
        assert(behind >= 9_950 && behind <= 11_050, `the first Cluster is ${behind} ms behind`);
      },
    );

    await t.step(
      "an ISO 8601 from starts at that wall-clock time, in the ring or the recordings",
      async () => {
        for (const back of [5_000, 20_000]) {
          const edge = mount.newestTime;
          const at = new Date(Date.now() - back).toISOString();
          const response = await fetch(url(`/live/stream?from=${encodeURIComponent(at)}`));
          const behind = (edge - await firstClusterTime(response)) * ms;
          // The source is paced in real time: wall-clock and media time run together.
          assert(behind >= back - 300 && behind <= back + 1_300, `${back}: ${behind} ms behind`);
        }
      },
    );

    await t.step("a bad from is 400, one older than anything kept is 416", async () => {
      const bad = await fetch(url("/live/stream?from=yesterday"));
      assertEquals(bad.status, 400);
      assertMatch(await bad.text(), /Invalid from: "yesterday" \(expected .*-60s/);
      const old = await fetch(url("/live/stream?from=-1h"));
      assertEquals(old.status, 416);
      const oldest = new Date(old.headers.get("x-oldest-available") ?? "");
      assertLess(Math.abs(oldest.getTime() - started.getTime()), 1000);
      assertMatch(await old.text(), /oldest media kept is from 20/);
    });

    // -20 s is before the ring's 12 s: the viewer starts in the first recording, goes on in
    // the second where it begins, and in the ring where that begins.
    const edge = mount.newestTime;
    const oldestInRing = mount.ring.oldest!.time;
    const logged = logs.lines.length; // its join is the next line from the recordings
    const response = await fetch(url("/live/stream?from=-20s"));
    assertEquals(response.status, 200);
    const capture = response.bytes();
    const captureStarted = performance.now();
    // Meanwhile (the capture runs on for 8 s):
    await t.step("the player page goes back 10 s, and says how far back is kept", async () => {
      const browser = await launchBrowser();
      try {
        const page = await browser.context.newPage();
        await page.goto(url("/player"));
        await page.selectOption("#go-back-from", "-10s");
        type State = { src: string; time: number; note: string };
        const state = await waitFor(
          () =>
            page.evaluate<State>(`(() => {
              const v = document.getElementById("video");
              return { src: v.currentSrc, time: v.currentTime,
                note: document.getElementById("go-back-note").textContent };
            })()`),
          (s) => s.src.endsWith("?from=-10s") && s.time > 1,
          20_000,
          (s) => `the video did not play from 10 s back: ${JSON.stringify(s)}`,
        );
        assertEquals(state.note, "Playing from 10 s back");
        await page.selectOption("#go-back-from", "-1h");
        await waitFor(
          () => page.evaluate<string>(`document.getElementById("go-back-note").textContent`),
          (note) => note.startsWith("Kept only since"),
          10_000,
          (note) => `no note for a point older than the recordings: ${note}`,
        );
      } finally {
        await browser.close();
      }
    });

    await t.step("mpv plays a join from the recordings", async () => {
      // 75 frames at 25 fps: 3 s of play from 18 s back, at the player's own pace.
      const out = await new Deno.Command("mpv", {
        args: [
          ...["--no-config", "--vo=null", "--ao=null", "--frames=75", "--msg-level=all=warn"],
          url("/live/stream?from=-18s"),
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      const said = decoder.decode(out.stdout) + decoder.decode(out.stderr);
      assertEquals(out.code, 0, said);
      assertEquals(said.trim(), "");
    });

    await sleep(Math.max(0, 8_000 - (performance.now() - captureStarted)));
    stop.abort(); // the stream ends: the viewer gets the rest and its response closes
    await fed;
    const bytes = await capture;
    const path = `${media.dir}/capture.mkv`;
    await Deno.writeFile(path, bytes);

    await t.step("-20s starts in the first recording, with one header", () => {
      const { clusters, headers } = scan(bytes);
      assertEquals(headers, 1);
      const behind = (edge - clusters[0]) * ms;
      assert(clusters[0] < oldestInRing, "the first Cluster is older than the ring");
      assert(behind >= 19_900 && behind <= 21_100, `the first Cluster is ${behind} ms behind`);
      for (let i = 1; i < clusters.length; i++) assertLess(clusters[i - 1], clusters[i]);
      const lines = logs.lines.slice(logged).join("\n");
      const first = formatRecordingName(started);
      const joins = [
        ...lines.matchAll(/Viewer #(\d+) joined from \S+ from the recordings \((\S+)\)/g),
      ];
      assertEquals(joins[0]?.[2], first);
      // 20 s back with 12 s in the ring: about 8 s came from the recordings.
      const id = joins[0]?.[1];
      const live = new RegExp(`Viewer #${id} went on live after ([\\d.]+) s of recordings`).exec(
        lines,
      );
      // Viewers that left in the recordings (the ISO step's) left no warning behind.
      assertEquals(logs.lines.filter((l) => /^(warn|error) /.test(l)), []);
      assert(live && Number(live[1]) > 4 && Number(live[1]) < 12, `${live?.[1]} s:\n${lines}`);
    });

    await t.step("and runs on into live: every frame once, in order, no gap", async () => {
      const video = await packets(path, "v");
      const audio = await packets(path, "a");
      for (let i = 1; i < video.length; i++) {
        const step = video[i].time - video[i - 1].time;
        assert(Math.abs(step - 0.04) < 0.0015, `video ${video[i - 1].time} → ${video[i].time}`);
      }
      for (let i = 1; i < audio.length; i++) assertLess(audio[i - 1].time, audio[i].time);
      // testsrc2 draws a frame counter: no picture may come twice (an overlap of the files).
      assertEquals(new Set(video.map((p) => p.hash)).size, video.length);
      // From 20 s back to the end of the stream, 8 s later, at 25 fps.
      const end = mount.ring.liveTime * ms / 1000;
      const last = video.at(-1)!.time;
      assert(end - last < 1.1, `the capture ends at ${last}, the stream at ${end}`);
      assertLess(Math.abs(video.length - (end - video[0].time) * 25), 30);
    });

    await t.step("mkvinfo and ffmpeg take the whole capture", async () => {
      const info = await new Deno.Command("mkvinfo", { args: [path], stdout: "piped" }).output();
      assertEquals(info.code, 0, decoder.decode(info.stdout).slice(-2000));
      const decoded = await decodeBytes(bytes, "mkv");
      assertEquals(decoded.code, 0, decoded.text);
      assertEquals(decoded.text.trim(), "");
      assertEquals(decoded.streams, "h264\nopus");
    });
  } finally {
    stop.abort();
    await fed.catch(() => {});
    for (const recorder of recorders) {
      const out = await recorder.output().catch(() => undefined); // the first's was read
      if (out) assert(out.code === 0 || out.code === 255, decoder.decode(out.stderr));
    }
    await server.shutdown();
    await Deno.remove(media.dir, { recursive: true });
  }
});
