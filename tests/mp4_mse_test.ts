// Chromium's Media Source Extensions take lib/mp4's output: the init segment and the chunks of
// each track, appended as hls.js would (one SourceBuffer per demuxed track), give one gapless
// buffered range per track, and the <video> plays. MSE is stricter than ffmpeg: it refuses a
// chunk with a bad trun or tfdt, and a wrong sample duration shows up as a gap between chunks.
// Needs /usr/bin/chromium, as tests/browser_test.ts does (it fails without, never skips).
import { assert, assertEquals } from "@std/assert";
import { remuxToFmp4 } from "../bench/_mp4_remux.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { codecString } from "../lib/mp4/sample_entry.ts";
import { chromium } from "./_playwright.ts";
import { makeMkv, type TestAudio, type TestVideo } from "./_mp4.ts";

const PAGE = `<!doctype html><video muted></video><script>
async function play(tracks) {
  const video = document.querySelector("video");
  const source = new MediaSource();
  video.src = URL.createObjectURL(source);
  await new Promise((r) => source.addEventListener("sourceopen", r, { once: true }));
  // Every SourceBuffer is added before the first append: Chromium refuses one added later.
  const buffers = [];
  for (const t of tracks) {
    const type = t.kind + '/mp4; codecs="' + t.codecs + '"';
    if (!MediaSource.isTypeSupported(type)) return { error: "unsupported " + type };
    buffers.push(source.addSourceBuffer(type));
  }
  for (const [k, t] of tracks.entries()) {
    const sb = buffers[k];
    for (const url of t.urls) {
      const bytes = await (await fetch(url)).arrayBuffer();
      sb.appendBuffer(bytes);
      await new Promise((r, j) => { sb.onupdateend = r; sb.onerror = () => j(new Error("append " + url)); });
    }
  }
  source.endOfStream();
  // The timeline starts where the first samples are (the writer's caller chose 1 s).
  const from = Math.max(...buffers.map((b) => b.buffered.start(0)));
  video.currentTime = from;
  await video.play();
  const start = performance.now();
  while (video.currentTime < from + 1.5 && performance.now() - start < 8000 && !video.error) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const ranges = (b) => Array.from({ length: b.length }, (_, i) => [b.start(i), b.end(i)]);
  return { ranges: buffers.map((b) => ranges(b.buffered)), played: video.currentTime - from,
    width: video.videoWidth, error: video.error && video.error.message };
}
</script>`;

async function checkMse(video: TestVideo, audio: TestAudio): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver-mse-" });
  const files = new Map<string, Uint8Array>([["/", new TextEncoder().encode(PAGE)]]);
  const tracks: { kind: string; codecs: string; urls: string[] }[] = [];
  try {
    const remuxed = remuxToFmp4([await Deno.readFile(await makeMkv(dir, video, audio))]);
    for (const t of remuxed) {
      const urls = [`/${t.track.id}/init.mp4`];
      files.set(urls[0], t.init);
      t.chunks.forEach((parts, i) => {
        urls.push(`/${t.track.id}/${i}.m4s`);
        files.set(urls[i + 1], concatBytes(parts));
      });
      tracks.push({ kind: t.track.kind, codecs: codecString(t.track)!, urls });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    const body = files.get(new URL(request.url).pathname);
    if (body === undefined) return new Response("not found", { status: 404 });
    const type = body === files.get("/") ? "text/html" : "video/mp4";
    return new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": type } });
  });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.addr.port}/`);
    // deno-lint-ignore no-explicit-any
    const result = await page.evaluate((t) => (globalThis as any).play(t), tracks);
    assertEquals(result.error ?? null, null);
    // One range per track: every chunk joins the next with no gap (durations from the DTS).
    for (const ranges of result.ranges) {
      assertEquals(ranges.length, 1, `gapless: ${JSON.stringify(ranges)}`);
      assert(ranges[0][1] - ranges[0][0] > 2.5, `buffered ${JSON.stringify(ranges)}`);
    }
    assert(result.played >= 1.5, `playing: ${result.played} s played`);
    assertEquals(result.width, 320);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

Deno.test("Chromium MSE plays lib/mp4's H.264 (B-frames) + AAC chunks with no gaps", () =>
  checkMse("h264", "aac"));
Deno.test("Chromium MSE plays lib/mp4's VP9 + Opus chunks with no gaps", () =>
  checkMse("vp9", "opus"));
Deno.test("Chromium MSE plays lib/mp4's AV1 + FLAC chunks with no gaps", () =>
  checkMse("av1", "flac"));
