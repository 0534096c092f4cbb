/**
 * The page browsers get at `/`: a player for the live stream.
 *
 * @module
 */

import { contentTypeOf } from "../matroska/live_header.ts";
import type { Mount } from "../stream/mount.ts";

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders the player page for `mount`. */
export function playerPage(mount: Mount): string {
  const header = mount.header;
  const tracks = header?.tracks.map((t) => {
    const size = t.width ? ` ${t.width}×${t.height}` : "";
    const audio = t.sampleRate
      ? ` ${t.sampleRate} Hz, ${t.channels ?? 1} ch`
      : "";
    return `<li>Track ${t.number}: ${t.kind} ${
      escapeHtml(t.codecId)
    }${size}${audio}</li>`;
  }).join("") ?? "<li>Waiting for the source…</li>";
  const type = header ? contentTypeOf(header) : "";
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mkserver: ${escapeHtml(mount.name)}</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:960px;padding:0 1rem}
video{width:100%;background:#000}code{background:#eee;padding:0 .3em}</style>
<h1>mkserver</h1>
<video src="/stream" autoplay muted controls playsinline></video>
<p>Stream <code>/stream</code> (${escapeHtml(type)}). Play it with
<code>ffplay http://HOST/stream</code> or <code>mpv http://HOST/stream</code>.</p>
<ul>${tracks}</ul>
<p><a href="/status">Status (JSON)</a></p>
</html>
`;
}
