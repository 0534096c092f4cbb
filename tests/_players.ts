// Pages that play a URL with hls.js or dash.js (both from npm, served by the test itself), and
// what a test reads of them. The players' files are imported as text: no CDN, no download at
// run time beyond the npm cache.
// The players are pinned here, in the one file that serves them (text imports cannot be
// re-exported through a module of their own the way _playwright.ts does).
// deno-lint-ignore no-import-prefix
import hlsScript from "npm:hls.js@1.7.4/dist/hls.min.js" with { type: "text" };
// deno-lint-ignore no-import-prefix
import dashModule from "npm:dashjs@5.2.1" with { type: "text" };
import { waitFor } from "./_browser.ts";
import type { Page } from "./_playwright.ts";

/** What the page's player reports. */
export interface PlayerState {
  currentTime: number;
  videoWidth: number;
  /** Bytes of audio and video the media element decoded so far (Chromium). */
  audioBytes: number;
  videoBytes: number;
  /** hls.js's estimate of the distance to the live edge, seconds (hls.js only). */
  latency: number | null;
  errors: string[];
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<video id="video" muted autoplay playsinline></video>
<script src="/hls.js"></script>
<script type="module">
import { MediaPlayer } from "/dash.js";
const params = new URLSearchParams(location.search);
const video = document.getElementById("video");
window.errors = [];
window.latency = () => null;
const src = params.get("src");
if (params.get("player") === "hls") {
  const config = { lowLatencyMode: params.get("ll") !== "0", debug: params.has("debug") };
  // Optional catch-up towards the target latency (hls.js's default rate 1 never catches up).
  if (params.has("rate")) config.maxLiveSyncPlaybackRate = Number(params.get("rate"));
  const hls = new Hls(config);
  hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.errors.push(d.type + ":" + d.details); });
  hls.loadSource(src);
  hls.attachMedia(video);
  window.latency = () => hls.latency;
  window.hls = hls;
} else {
  const player = MediaPlayer().create();
  player.on("error", (e) => window.errors.push(JSON.stringify(e.error ?? e)));
  player.initialize(video, src, true);
}
video.addEventListener("error", () => window.errors.push("video: " + video.error?.message));
</script>`;

/** A local server for the player pages; `page(player, src)` gives a page URL. */
export function servePlayers(): {
  url(player: "hls" | "dash", src: string, extra?: Record<string, string>): string;
  close(): Promise<void>;
} {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (request) => {
    const { pathname } = new URL(request.url);
    const js = { "content-type": "text/javascript" };
    if (pathname === "/hls.js") return new Response(hlsScript, { headers: js });
    if (pathname === "/dash.js") return new Response(dashModule, { headers: js });
    if (pathname === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
    return new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}/`;
  return {
    url: (player, src, extra = {}) => `${base}?${new URLSearchParams({ player, src, ...extra })}`,
    close: () => server.shutdown(),
  };
}

/** Reads the player's state (a string run in the page: the tests compile without the DOM). */
export function playerState(page: Page): Promise<PlayerState> {
  return page.evaluate<PlayerState>(`(() => {
    const v = document.getElementById("video");
    return {
      currentTime: v.currentTime,
      videoWidth: v.videoWidth,
      audioBytes: v.webkitAudioDecodedByteCount ?? 0,
      videoBytes: v.webkitVideoDecodedByteCount ?? 0,
      latency: window.latency ? window.latency() : null,
      errors: window.errors ?? [],
    };
  })()`);
}

/**
 * Opens `pageUrl` (a player page of `servePlayers`) in `page` and waits up to 25 s until the
 * player shows picture and has played half a second. Returns that first state and the page's
 * errors (a list that keeps filling). `log` adds the server's log to a failure.
 */
export async function startPlayer(
  page: Page,
  player: string,
  pageUrl: string,
  log: () => string,
): Promise<{ started: PlayerState; pageErrors: string[] }> {
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(pageUrl);
  const started = await waitFor(
    () => playerState(page),
    (s) => s.currentTime > 0.5 && s.videoWidth > 0,
    25_000,
    (last) => `${player} did not start: ${JSON.stringify(last)} ${pageErrors}\n${log()}`,
  );
  return { started, pageErrors };
}
