/**
 * The page browsers get at `/`: a `<video>` playing the live stream near its live edge (through
 * Media Source Extensions for WebM codecs, `live_player.js`), its tracks and codecs, whether
 * browsers can play them, how far behind live it plays, and live stats polled from `/status`.
 *
 * The page is plain HTML with two inline scripts: no build step, no external resources.
 * Everything from the stream (codec IDs, the mount name) is escaped on the server, and the
 * script only ever writes `textContent`, never HTML.
 *
 * @module
 */

import type { TrackInfo } from "../matroska/live_header.ts";
import { browserSupport, codecName, mseType } from "./browser_support.ts";
import HLS_FALLBACK from "./hls_fallback.js" with { type: "text" };
import LIVE_PLAYER from "./live_player.js" with { type: "text" };
import type { Mount, MountStatus } from "../stream/mount.ts";

/**
 * One line describing a track, e.g. `#1 video: VP8 (V_VP8), 320×240`. Embedded in the page's
 * script like `codecName`.
 */
function describeTrack(t: TrackInfo): string {
  let s = `#${t.number} ${t.kind}: ${codecName(t.codecId)}`;
  if (codecName(t.codecId) !== t.codecId) s += ` (${t.codecId})`;
  if (t.width && t.height) s += `, ${t.width}×${t.height}`;
  if (t.sampleRate) {
    s += `, ${t.sampleRate} Hz`;
    if (t.channels) s += `, ${t.channels} ch`;
  }
  return s;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `/status` as the page reads it: `startedAt` (an ISO time) is shown as uptime when present. */
type PageStatus = Omit<MountStatus, "startedAt"> & { startedAt?: string };

/** The stats the script fills in: element id suffix and label. */
const STATS: ReadonlyArray<readonly [string, string]> = [
  ["latency", "Behind live"],
  ["playback", "Playback"],
  ["state", "State"],
  ["viewers", "Viewers"],
  ["bitrate-in", "Bitrate in"],
  ["bitrate-out", "Bitrate out"],
  ["uptime", "Uptime"],
  ["skips", "Skips"],
  ["buffer", "Buffer"],
  ["bytes", "Bytes in / out"],
];

/**
 * The page's script: polls `/status` every 2 s, computes bitrates from successive byte counts,
 * and re-renders the tracks and the support note when they change (a page opened before the
 * source started). It writes only `textContent`.
 */
const SCRIPT = String.raw`
"use strict";
const MOUNT = document.body.dataset.mount;
const $ = (id) => document.getElementById(id);
const set = (id, text) => { const el = $(id); if (el.textContent !== text) el.textContent = text; };
function formatBytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + units[i];
}
function formatBitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1e6) return (bitsPerSecond / 1e6).toFixed(2) + " Mbit/s";
  return (bitsPerSecond / 1e3).toFixed(bitsPerSecond < 1e4 ? 1 : 0) + " kbit/s";
}
function formatDuration(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const pad = (x) => String(x).padStart(2, "0");
  return (d > 0 ? d + "d " : "") + (d > 0 || h > 0 ? h + "h " + pad(m) + "m " : m > 0 ? m + "m " : "") +
    (d > 0 || h > 0 || m > 0 ? pad(s) : s) + "s";
}
__FUNCTIONS__
let previous;
let shownTracks = document.body.dataset.tracks;
function renderTracks(mount) {
  const key = JSON.stringify([mount.docType ?? null, (mount.tracks ?? []).map((t) => [t.number, t.codecId])]);
  if (key === shownTracks) return;
  shownTracks = key;
  const list = $("tracks");
  const items = (mount.tracks ?? []).map((t) => {
    const li = document.createElement("li");
    li.textContent = describeTrack(t);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement("li");
    li.textContent = "Waiting for the source…";
    items.push(li);
  }
  list.replaceChildren(...items);
  const support = browserSupport(mount.tracks, mount.docType);
  const note = $("support");
  note.className = "support " + support.level;
  note.textContent = support.message;
  set("content-type", mount.contentType ?? "");
}
function render(mount, at, serverNow) {
  set("stat-state", mount.state);
  set("stat-viewers", String(mount.viewers));
  if (previous && at > previous.at) {
    const seconds = (at - previous.at) / 1000;
    set("stat-bitrate-in", formatBitrate(Math.max(0, mount.bytesIn - previous.bytesIn) * 8 / seconds));
    set("stat-bitrate-out", formatBitrate(Math.max(0, mount.bytesOut - previous.bytesOut) * 8 / seconds));
  }
  previous = { at, bytesIn: mount.bytesIn, bytesOut: mount.bytesOut };
  const started = typeof mount.startedAt === "string" ? Date.parse(mount.startedAt) : NaN;
  $("row-uptime").hidden = Number.isNaN(started);
  if (!Number.isNaN(started)) set("stat-uptime", formatDuration(serverNow - started));
  set("stat-skips", String(mount.skips));
  const ring = mount.ring ?? {};
  set("stat-buffer", (ring.seconds ?? 0).toFixed(1) + " s (" + (ring.gops ?? 0) + " GOPs, " +
    formatBytes(ring.bytes ?? 0) + ")");
  set("stat-bytes", formatBytes(mount.bytesIn) + " / " + formatBytes(mount.bytesOut));
  renderTracks(mount);
}
async function poll() {
  try {
    const response = await fetch("/status", { cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const body = await response.json();
    const mount = (body.mounts ?? []).find((m) => m.name === MOUNT) ?? body.mounts?.[0];
    if (!mount) throw new Error("no mount in /status");
    // Uptime by the server's clock (its Date header) when it sends one: the browser's may differ.
    const date = Date.parse(response.headers.get("date") ?? "");
    render(mount, performance.now(), Number.isNaN(date) ? Date.now() : date);
    set("updated", "Updated " + new Date().toLocaleTimeString());
    $("updated").className = "";
  } catch (error) {
    set("updated", "Cannot reach /status: " + (error && error.message ? error.message : error));
    $("updated").className = "error";
  }
}
const video = $("video");
video.addEventListener("error", () => {
  const codes = { 1: "aborted", 2: "network error", 3: "decoding error", 4: "format not supported" };
  const e = video.error;
  set("video-error", e ? "The browser stopped playing: " + (codes[e.code] ?? "error " + e.code) +
    (e.message ? " (" + e.message + ")" : "") : "");
});
set("url", new URL(__STREAM_URL__, location.href).href);
poll();
setInterval(poll, 2000);
`;

/** Options of `playerPage`. */
export interface PlayerPageOptions {
  /** The stream the page plays (default `/stream`), e.g. with the page's own credentials. */
  streamUrl?: string;
}

/**
 * Renders the player page for `mount`: the `<video>`, the tracks and whether browsers play
 * them (from the mount's status now), and placeholders the inline script fills from `/status`.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { playerPage } from "./player_page.ts";
 * const html = playerPage(new Mount("stream"));
 * assertStringIncludes(html, 'data-stream="/stream"');
 * ```
 */
export function playerPage(
  mount: Pick<Mount, "status">,
  options: PlayerPageOptions = {},
): string {
  const src = escapeHtml(options.streamUrl ?? "/stream");
  const status: PageStatus = mount.status();
  const tracks = status.tracks ?? [];
  const support = browserSupport(status.tracks, status.docType);
  const trackItems = tracks.length > 0
    ? tracks.map((t) => `<li>${escapeHtml(describeTrack(t))}</li>`).join("")
    : "<li>Waiting for the source…</li>";
  const shown = JSON.stringify([
    status.docType ?? null,
    tracks.map((t) => [t.number, t.codecId]),
  ]);
  const stats = STATS.map(([id, label]) =>
    `<tr id="row-${id}"${
      id === "uptime" && status.startedAt === undefined ? " hidden" : ""
    }><th>${label}</th><td id="stat-${id}">${
      id === "state" ? escapeHtml(status.state) : "—"
    }</td></tr>`
  ).join("\n");
  // The script embeds the same functions the server used above, so the page says the same
  // thing once the tracks arrive. Their source is what Deno runs (TypeScript already stripped).
  // (A replacer function, so `$` in their source is not read as a replacement pattern.)
  const script = SCRIPT.replace(
    "__FUNCTIONS__",
    () => [codecName, browserSupport, describeTrack, mseType].map(String).join("\n"),
  ).replace(
    "__STREAM_URL__",
    // In a script element, `<` must not start `</script>`.
    () => JSON.stringify(options.streamUrl ?? "/stream").replaceAll("<", "\\u003c"),
  );
  const name = escapeHtml(status.name);
  // How the live player plays it (live_player.js); left out while the codecs are unknown.
  const mse = tracks.length > 0
    ? ` data-mse-type="${escapeHtml(mseType(status.tracks, status.docType) ?? "")}"`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mkserver: ${name}</title>
<style>
body{font:16px/1.4 system-ui,sans-serif;margin:1.5rem auto;max-width:960px;padding:0 1rem;color:#222}
h1{font-size:1.4rem;margin:0 0 1rem}
video{width:100%;max-height:70vh;background:#000;display:block}
code{background:#eee;padding:0 .3em;border-radius:3px}
.support{padding:.5rem .75rem;border-left:4px solid #888;background:#f4f4f4}
.support.webm{border-color:#2a7}.support.chromium{border-color:#d90}.support.none{border-color:#c33}
table{border-collapse:collapse}th,td{text-align:left;padding:.15rem 1rem .15rem 0}
th{font-weight:normal;color:#555}td{font-variant-numeric:tabular-nums}
.error,#video-error{color:#c33}#updated{color:#777;font-size:.85rem}
</style>
</head>
<body data-mount="${name}" data-stream="${src}" data-content-type="${
    escapeHtml(status.contentType ?? "")
  }" data-tracks="${escapeHtml(shown)}"${mse}>
<h1>mkserver: ${name}</h1>
<video id="video" autoplay muted controls playsinline></video>
<p id="video-error" role="alert"></p>
<p id="support" class="support ${support.level}">${escapeHtml(support.message)}</p>
<h2>Tracks <small><code id="content-type">${
    escapeHtml(status.contentType ?? "")
  }</code></small></h2>
<ul id="tracks">${trackItems}</ul>
<h2>Live</h2>
<table id="stats">
${stats}
</table>
<p id="updated"></p>
<noscript><p>The video and the live stats need JavaScript: play <code>${src}</code> in a media
player, see <a href="/status">/status</a>.</p></noscript>
<p>Stream URL: <code id="url">${src}</code>. In a media player: <code>mpv URL</code>,
<code>ffplay URL</code> or VLC's Open Network Stream.
<a href="/status">Status (JSON)</a> · <a href="/metrics">Metrics</a></p>
<script>${script}</script>
<script>${HLS_FALLBACK}</script>
<script>${LIVE_PLAYER}</script>
</body>
</html>
`;
}
