/**
 * A signed LL-HLS and DASH session through the CLI: `mkserver sign` makes the path, a
 * fetch-based LL-HLS follower and ffmpeg get every playlist, part, segment and init through it
 * (the playlists' relative URLs keep the signed prefix), and the same URLs with one character
 * changed, or after the expiry, get 403.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { sleep, until } from "../bench/_proc.ts";
import { captureSegmented, CliServer, runCli } from "./_cli.ts";
import { followRendition, followStats } from "./_segment_clients.ts";

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sign(secret: string, expires: string, path: string): Promise<string> {
  const result = await runCli(["sign", "--url-secret", secret, "--expires", expires, path]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stderr, "Valid until");
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  assertMatch(last, /^\/s\/[0-9]+\/[A-Za-z0-9_-]{43}\//);
  return last;
}

/** `url` with the character at `index` of its path replaced by another of the same kind. */
function oneChanged(url: string, index: number): string {
  const c = url[index];
  const other = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : c === "A" ? "B" : "A";
  return url.slice(0, index) + other + url.slice(index + 1);
}

async function status(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return response.status;
}

Deno.test("A signed LL-HLS and DASH session: every object through the signed path; one changed character or the expiry gives 403", async () => {
  const secret = randomSecret();
  const viewToken = randomSecret();
  await using server = await CliServer.start([
    "--port",
    "0",
    "--loop",
    "--url-secret",
    secret,
    "--view-token",
    viewToken,
    "testdata/h264_aac.mkv",
  ]);
  const signed = await sign(secret, "120s", "/live/stream/index.m3u8");
  const prefix = signed.slice(0, signed.indexOf("/live/"));
  const master = server.url(signed);
  assert(
    await until(
      async () => (await status(server.url(`${prefix}/live/stream/hls/v1.m3u8`))) === 200,
      30_000,
    ),
    server.log,
  );
  // Unsigned, the same playlist needs a credential.
  assertEquals(await status(server.url("/live/stream/index.m3u8")), 401);
  const text = await (await fetch(master)).text();
  const renditions = [...text.matchAll(/^(?!#)(\S+\.m3u8)$/gm), ...text.matchAll(/URI="([^"]+)"/g)]
    .map((m) => new URL(m[1], master).href);
  assertEquals(renditions.length, 2, text);
  for (const r of renditions) {
    assert(new URL(r).pathname.startsWith(`${prefix}/live/stream/hls/`), r);
  }

  // An LL-HLS follower per rendition for 4 s: blocking reloads, parts and inits, all signed.
  const stats = followStats();
  const stop = new AbortController();
  const followers = renditions.map((r) => followRendition(r, stats, stop.signal));
  await sleep(4000);
  stop.abort();
  await Promise.all(followers);
  assertEquals(stats.errors, {});
  const objects = [...stats.objects];
  assert(objects.filter((o) => o.endsWith(".mp4")).length === 2, objects.join("\n"));
  assert(objects.filter((o) => /\.[0-9]+\.m4s$/.test(o)).length >= 4, objects.join("\n"));
  for (const o of objects) assert(o.startsWith(`${prefix}/live/stream/e/`), o);

  // A signed object keeps its shared-cache headers (the signed path is the cache key).
  const init = server.url(objects.find((o) => o.endsWith(".mp4"))!);
  const initResponse = await fetch(init);
  await initResponse.body?.cancel();
  assertEquals(initResponse.headers.get("cache-control"), "public, max-age=31536000, immutable");
  // The same object let in by the view token is private: no shared cache may pass it on.
  const unsignedInit = init.replace(prefix, "");
  const byToken = await fetch(unsignedInit, { headers: { authorization: `Bearer ${viewToken}` } });
  await byToken.body?.cancel();
  assertEquals(byToken.status, 200);
  assertEquals(byToken.headers.get("cache-control"), "private, max-age=31536000, immutable");
  assertEquals(await status(unsignedInit), 401);

  // One character changed anywhere in the expiry or the signature: 403, for every kind of URL.
  const part = server.url(objects.find((o) => /\.[0-9]+\.m4s$/.test(o))!);
  const start = new URL(master).origin.length + 3;
  for (const url of [master, renditions[0], init, part]) {
    for (let i = start; i < new URL(master).origin.length + prefix.length; i++) {
      if (url[i] === "/") continue;
      assertEquals(await status(oneChanged(url, i)), 403, oneChanged(url, i));
    }
  }
  // Another mount under the same signature: 403.
  assertEquals(await status(master.replace("/live/stream/", "/live/other/")), 403);

  // DASH through the same prefix: the MPD, its inits, and the clock its UTCTiming names.
  const mpdUrl = server.url(`${prefix}/live/stream/manifest.mpd`);
  const mpd = await (await fetch(mpdUrl)).text();
  const inits = [...mpd.matchAll(/initialization="([^"]+)"/g)].map((m) =>
    new URL(m[1], mpdUrl).href
  );
  assertEquals(inits.length, 2, mpd);
  for (const i of inits) assertEquals(await status(i), 200, i);
  const clock = /<UTCTiming [^>]*value="([^"]+)"/.exec(mpd)?.[1] ?? "";
  assertEquals(await status(new URL(clock, mpdUrl).href), 200, clock);

  // ffmpeg plays the signed HLS (it ignores parts: whole segments, also under the prefix).
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/capture.mkv`;
    const got = await captureSegmented(master, out, 3);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(got.codecs, ["aac", "h264"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A signed path made with --expires 2s works, then gets 403 once it has expired", async () => {
  const secret = randomSecret();
  await using server = await CliServer.start([
    "--port",
    "0",
    "--loop",
    "--url-secret",
    secret,
    "testdata/sample.webm",
  ]);
  const signed = await sign(secret, "2s", "/live/stream");
  const response = await fetch(server.url(signed));
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "video/webm");
  await response.body?.cancel();
  await sleep(2500);
  const late = await fetch(server.url(signed));
  assertEquals([late.status, await late.text()], [403, "This URL has expired\n"]);
  await server.waitForLine(
    /INFO Refused a signed request for \/live\/stream from 127\.0\.0\.1: This URL has expired \(403\)/,
  );
});
