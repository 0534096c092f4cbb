/**
 * Disk trouble under a recording: a full disk and a read-only one, each a small tmpfs made by
 * the test (it needs root to mount one). Viewers must not notice.
 */

import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { encodeMedia } from "../bench/_media.ts";
import { sleep, until } from "../bench/_proc.ts";
import { CliServer } from "./_cli.ts";
import { decode, mkvinfo, tool } from "./_recordings.ts";
import { listRecordings } from "../lib/record/recording_list.ts";

/** A 2.5 Mbit/s H.264 + Opus file, looped by the server: 2 MiB of disk fill in about 7 s. */
async function withMedia(fn: (media: string, mount: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await encodeMedia(`${dir}/live.mkv`, { seconds: 10, bitrate: 2_500_000 });
    await Deno.mkdir(`${dir}/disk`);
    await fn(`${dir}/live.mkv`, `${dir}/disk`);
  } finally {
    await tool("umount", [`${dir}/disk`]);
    await Deno.remove(dir, { recursive: true });
  }
}

async function mountTmpfs(dir: string, options: string): Promise<void> {
  const r = await tool("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  assertEquals(r.code, 0, `mount -t tmpfs needs root: ${r.out}`);
}

/** How long the viewers are watched once the recording has failed. */
const WINDOW_MS = 10_000;

/** Reads `url` until `signal` aborts; `bytes` counts what came. */
function viewer(url: string, signal: AbortSignal) {
  const state = { bytes: 0, done: Promise.resolve() };
  state.done = (async () => {
    const response = await fetch(url, { signal });
    try {
      for await (const chunk of response.body!) state.bytes += chunk.length;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  })().catch((error) => {
    if (!signal.aborted) throw error;
  });
  return state;
}

async function status(server: CliServer) {
  const json = await (await fetch(server.url("/status"))).json();
  return json.mounts[0];
}

/**
 * Runs the server on `media` recording into `disk`, with two viewers; once `failed` holds,
 * checks over `WINDOW_MS` that the viewers get everything the source sends.
 */
async function viewersUnaffected(media: string, disk: string, pattern: RegExp) {
  await using server = await CliServer.start([
    ...["--port", "0", "--loop", "--record", disk, "--log-level", "debug", media],
  ]);
  const stop = new AbortController();
  const viewers = [
    viewer(server.url("/stream"), stop.signal),
    viewer(server.url("/"), stop.signal),
  ];
  try {
    await server.waitForLine(pattern, 20_000);
    const perSecond = (await Deno.stat(media)).size / 10;
    const before = { in: (await status(server)).bytesIn, out: viewers.map((v) => v.bytes) };
    await sleep(WINDOW_MS);
    const mount = await status(server);
    const got = viewers.map((v, i) => v.bytes - before.out[i]);
    const sent = mount.bytesIn - before.in;
    // The source kept real time, and every viewer got what it sent: viewers get whole Clusters
    // of up to a second and the source is read in chunks, so a window's counts differ by up to
    // a Cluster or two of bytes at its edges, never by more.
    assert(sent >= perSecond * WINDOW_MS / 1000 * 0.9, `the source sent ${sent} bytes`);
    for (const g of got) {
      assert(g >= sent - 2 * perSecond, `a viewer got ${g} of ${sent} bytes`);
    }
    assertEquals(mount.skips, 0);
    assertEquals(mount.viewers, 2);
    assertEquals(mount.recording.state, "error");
    assertGreaterOrEqual(mount.recording.errors, 1);
    const metrics = await (await fetch(server.url("/metrics"))).text();
    assert(/mkserver_record_up\{mount="stream"\} 0/.test(metrics), metrics);
    assert(/mkserver_record_errors_total\{mount="stream"\} [1-9]/.test(metrics), metrics);
    // One ERROR line, however often the retries fail.
    const errors = server.lines.filter((l) => / ERROR /.test(l));
    assertEquals(errors.length, 1, server.log);
    assert(pattern.test(errors[0]), errors[0]);
  } finally {
    stop.abort();
    await Promise.all(viewers.map((v) => v.done));
  }
  server.kill("SIGTERM");
  assertEquals(await server.exit(), 0);
}

Deno.test("A full disk stops the recording with one ERROR line; viewers keep their full rate, the file on disk still plays", async () => {
  await withMedia(async (media, disk) => {
    await mountTmpfs(disk, "size=2m");
    await viewersUnaffected(
      media,
      disk,
      /ERROR Recording stopped: cannot write .*No space left on device/,
    );
    const files = [...Deno.readDirSync(`${disk}/stream`)].map((e) => e.name);
    assertGreaterOrEqual(files.length, 1);
    for (const file of files) {
      const size = (await Deno.stat(`${disk}/stream/${file}`)).size;
      if (size === 0) continue; // a retry that could not write its head
      const r = await decode(`${disk}/stream/${file}`);
      assertEquals([r.code, r.out], [0, ""], file);
    }
  });
});

Deno.test("A read-only recording directory gets one ERROR line and retries; viewers keep their full rate", async () => {
  await withMedia(async (media, disk) => {
    await mountTmpfs(disk, "size=2m,ro");
    await viewersUnaffected(
      media,
      disk,
      /ERROR Recording stopped: cannot write .*Read-only file system/,
    );
  });
});

Deno.test("Recording resumes once the disk has room again, and finishes the file the failure stopped", async () => {
  await withMedia(async (media, disk) => {
    await mountTmpfs(disk, "size=2m");
    await Deno.writeFile(`${disk}/ballast`, new Uint8Array(1536 * 1024));
    {
      await using server = await CliServer.start([
        ...["--port", "0", "--loop", "--record", disk, media],
      ]);
      await server.waitForLine(/ERROR Recording stopped: .*No space left on device/, 20_000);
      await Deno.remove(`${disk}/ballast`); // room again: the next retry succeeds
      await server.waitForLine(/INFO Recording resumed: /, 30_000);
      assert(await until(async () => (await status(server)).recording.state === "recording", 5000));
      server.kill("SIGTERM");
      assertEquals(await server.exit(), 0);
      assert(/INFO Finished \S+, which a disk failure had stopped/.test(server.log), server.log);
    }
    const files = await listRecordings(disk, "stream");
    assertGreaterOrEqual(files.length, 2);
    for (const f of files) {
      const info = await mkvinfo(`${disk}/stream/${f.file}`);
      assert(!info.segmentUnknown && info.cues > 0, `${f.file}: ${info.out}`);
      assert(f.durationMs !== undefined && f.durationMs > 0, JSON.stringify(f));
    }
  });
});
