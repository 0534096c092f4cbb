/**
 * hls.js and dash.js in headless Chromium play signed URLs (`mkserver sign`): the playlists, the
 * MPD, the inits, every segment and part, and the UTCTiming clock they reach through relative
 * URLs stay under the signed prefix, and the server refuses none of them.
 */

import { assert, assertEquals } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { launchBrowser, waitFor } from "./_browser.ts";
import { CliServer, runCli } from "./_cli.ts";
import { playerState, servePlayers, startPlayer } from "./_players.ts";

async function assertPlaysSigned(player: "hls" | "dash", fixture: string, path: string) {
  const secret = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  await using server = await CliServer.start([
    "--port",
    "0",
    "--loop",
    "--url-secret",
    secret,
    `testdata/${fixture}`,
  ]);
  const signed = await runCli([
    "sign",
    "--url-secret",
    secret,
    "--expires",
    "5m",
    path,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const src = server.url(signed.stdout.trim().split("\n").at(-1)!);
  assert(
    await until(async () => {
      const response = await fetch(src).catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200;
    }, 20_000),
    server.log,
  );
  // Unsigned, the same MPD is refused: the player can only have used the signed path.
  const unsigned = await fetch(server.url(path));
  await unsigned.body?.cancel();
  assertEquals(unsigned.status, 401);
  const pages = servePlayers();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const { started, pageErrors } = await startPlayer(
      page,
      player,
      pages.url(player, src),
      () => server.log,
    );
    const last = await waitFor(
      () => playerState(page),
      (s) => s.currentTime > started.currentTime + 2,
      15_000,
      (s) => `${player} stalled: ${JSON.stringify(s)}`,
    );
    assertEquals(last.errors, []);
    assertEquals(pageErrors, []);
    assert(last.audioBytes > started.audioBytes, `no audio decoded: ${JSON.stringify(last)}`);
    // Nothing the player asked for was refused (each refusal logs a line): it went through the
    // signed prefix only, since an unsigned request would have been refused.
    const refused = server.lines.filter((l) => l.includes("Refused"));
    assertEquals(refused.length, 1, refused.join("\n")); // the unsigned request above
    await page.close();
  } finally {
    await browser.close();
    await pages.close();
  }
}

Deno.test("hls.js plays the LL-HLS of an H.264 + AAC source through a signed path", async () => {
  await assertPlaysSigned("hls", "h264_aac.mkv", "/live/stream/index.m3u8");
});

Deno.test("dash.js plays the WebM DASH of a VP8 + Opus source through a signed path", async () => {
  await assertPlaysSigned("dash", "sample.webm", "/live/stream/manifest.mpd");
});
