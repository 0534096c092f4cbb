/**
 * Hostile viewers against the `mkserver` command line: viewers that send a request and never
 * read, viewers that connect and vanish mid-write (a reset with data in flight, or gone before
 * the response), beside normal viewers, on a high-bitrate source so buffers fill fast.
 *
 * Asserted: the normal viewers keep the source's rate, the stalled ones (and only they) are
 * disconnected after `--stall-timeout` plus the time their socket buffers take to fill, the
 * server's RSS stays under a stated bound, and its open fd count returns to its baseline.
 *
 * The 100 + 100 + 100 is a bench run; CI runs 20 + 20 + 20 by default. Set
 * `HOSTILE_STALLED`, `HOSTILE_VANISHING` and `HOSTILE_NORMAL` to change the counts.
 */

import { assert, assertEquals, assertGreaterOrEqual, assertLessOrEqual } from "@std/assert";
import { fdCount, rssMiB, sleep, until } from "../bench/_proc.ts";
import { CliServer, run } from "./_cli.ts";
import { envCount, prng } from "./_util.ts";

const STALLED = envCount("HOSTILE_STALLED", 20, 0);
const VANISHING = envCount("HOSTILE_VANISHING", 20, 0);
const NORMAL = envCount("HOSTILE_NORMAL", 20, 0);

/** Seconds of source media; its first 2 s go at once (the file preroll), the rest in real time. */
const SOURCE_SECONDS = 24;
/** The source's video bitrate. */
const BITRATE = 8_000_000;
/** `--stall-timeout`, in seconds. */
const STALL_TIMEOUT = 2;
/**
 * Longest time from a stalled viewer's request to its disconnection. The server watches the
 * bytes the peer's kernel acknowledged (not its own send buffer, which takes about 4 MiB), so
 * a stall shows once the client's receive buffer is full (a fraction of a second at 1 MB/s);
 * then 2 s of no progress, the watchdog's 0.5 s period, and slack for a loaded machine.
 */
const STALL_DEADLINE_MS = (STALL_TIMEOUT + 4) * 1000;
/** Normal viewers must receive at least this share of what the source delivered meanwhile. */
const RATE_SHARE = 0.9;
/** How long the normal viewers' rate is measured, while the hostile ones come and go. */
const WINDOW_MS = 12_000;
/**
 * Bound on the server's RSS throughout. The ring holds 20 s at 1 MB/s (about 20 MB), each
 * stalled viewer pins at most its GOP (0.5 s, 0.5 MB); Deno's own baseline is about 50 MB.
 */
const RSS_BOUND_MIB = 200;
/** Open fds allowed above the baseline once every viewer is gone. */
const FD_TOLERANCE = 2;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `GET path` over HTTP/1.0 on a fresh connection, read to its end: the server closes it after
 * the response, so the request leaves no idle keep-alive connection (and fd) behind.
 */
async function getText(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(`GET ${path} HTTP/1.0\r\n\r\n`));
    let text = "";
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) {
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    return text.slice(text.indexOf("\r\n\r\n") + 4);
  } finally {
    conn.close();
  }
}

interface MountStatus {
  viewers: number;
  bytesIn: number;
  blocks: number;
}

async function status(port: number): Promise<MountStatus> {
  return JSON.parse(await getText(port, "/status")).mounts[0];
}

/** Opens `/stream` on a raw connection; HTTP/1.0 gets the body plain, ending with the connection. */
async function openStream(port: number, http10 = true): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    encoder.encode(`GET /stream HTTP/1.${http10 ? 0 : 1}\r\nHost: 127.0.0.1\r\n\r\n`),
  );
  return conn;
}

/** A viewer that reads everything, counting bytes. */
class NormalViewer {
  bytes = 0;
  ended = false;
  error: unknown;
  readonly conn: Deno.TcpConn;
  readonly done: Promise<void>;
  #closing = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (let n; (n = await this.conn.read(buf)) !== null;) this.bytes += n;
    } catch (error) {
      if (!this.#closing) this.error = error;
    }
    this.ended = true;
  }

  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.done;
  }
}

/**
 * Connects again and again until `stop` is set: each time sends a request, then either leaves
 * at once (before the response) or reads a little and closes with data in flight (the kernel
 * answers the server's next segment with a reset).
 */
async function vanish(
  port: number,
  seed: number,
  stop: { stopped: boolean },
  stats: { cycles: number; failures: number },
): Promise<void> {
  const rand = prng(seed);
  const buf = new Uint8Array(16384);
  while (!stop.stopped) {
    let conn: Deno.TcpConn | undefined;
    // A guard, so that a server that never answers cannot hang the loop.
    const guard = setTimeout(() => {
      try {
        conn?.close();
      } catch { /* closed */ }
    }, 5000);
    try {
      conn = await openStream(port, rand() < 0.5);
      if (rand() >= 0.25) {
        const target = 1 + Math.floor(rand() * 256 * 1024);
        let got = 0;
        while (got < target) {
          const n = await conn.read(buf);
          if (n === null) break;
          got += n;
        }
      }
      stats.cycles++;
    } catch {
      stats.failures++;
    } finally {
      clearTimeout(guard);
      try {
        conn?.close();
      } catch { /* closed by the guard */ }
    }
    await sleep(Math.floor(rand() * 100));
  }
}

async function makeSource(path: string): Promise<void> {
  const made = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=640x360:rate=25",
    "-t",
    String(SOURCE_SECONDS),
    // Temporal noise keeps x264 at the bitrate cap: about 1 MB/s.
    "-vf",
    "noise=alls=30:allf=t",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-b:v",
    String(BITRATE),
    "-maxrate",
    String(BITRATE),
    "-bufsize",
    String(BITRATE / 4),
    // A keyframe every 0.48 s: Clusters (and thus the viewers' bytes) come at least that often.
    "-g",
    "12",
    "-keyint_min",
    "12",
    "-sc_threshold",
    "0",
    "-f",
    "matroska",
    "-y",
    path,
  ], { timeout: 30_000 });
  assertEquals(made.code, 0, made.stderr);
}

Deno.test({
  name:
    `hostile viewers (${STALLED} stalled, ${VANISHING} vanishing) do not slow ${NORMAL} normal ones, and the stalled ones are disconnected`,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "mkserver_hostile_" });
    const normal: NormalViewer[] = [];
    const stalled: Deno.TcpConn[] = [];
    const stop = { stopped: false };
    const vanishStats = { cycles: 0, failures: 0 };
    const vanishers: Promise<void>[] = [];
    let rssPoll: ReturnType<typeof setInterval> | undefined;
    try {
      const path = `${dir}/hi.mkv`;
      await makeSource(path);
      const fileRate = (await Deno.stat(path)).size / SOURCE_SECONDS; // bytes per second
      await using server = await CliServer.start([
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--stall-timeout",
        String(STALL_TIMEOUT),
        path,
      ]);
      const pid = server.child.pid;
      const port = server.port;
      assert(await until(async () => (await status(port)).blocks > 0, 10_000), server.log);
      const fdBaseline = fdCount(pid);
      let rssMax = rssMiB(pid);
      rssPoll = setInterval(() => {
        try {
          rssMax = Math.max(rssMax, rssMiB(pid));
        } catch { /* exited */ }
      }, 200);

      for (let i = 0; i < NORMAL; i++) normal.push(new NormalViewer(await openStream(port)));
      const stalledAt = performance.now();
      for (let i = 0; i < STALLED; i++) stalled.push(await openStream(port, i % 2 === 0));
      const stalledPorts = new Set(stalled.map((c) => c.localAddr.port));
      for (let i = 0; i < VANISHING; i++) {
        vanishers.push(vanish(port, 1000 + i, stop, vanishStats));
      }

      // The normal viewers' rate while the hostile ones are around.
      await sleep(1000);
      const from = { time: performance.now(), in: (await status(port)).bytesIn };
      const fromBytes = normal.map((v) => v.bytes);
      // Meanwhile, the stalled viewers are disconnected one by one.
      const evicted = new Map<number, number>(); // stalled viewer's port → ms after its request
      const evictionPattern = /WARN Viewer 127\.0\.0\.1:(\d+) accepted no bytes for \d+ s/;
      const watchEvictions = () => {
        for (const line of server.lines) {
          const m = evictionPattern.exec(line);
          if (m && !evicted.has(Number(m[1]))) {
            evicted.set(Number(m[1]), performance.now() - stalledAt);
          }
        }
        return evicted.size >= STALLED;
      };
      await until(watchEvictions, WINDOW_MS);
      await sleep(Math.max(0, from.time + WINDOW_MS - performance.now()));
      const to = { time: performance.now(), in: (await status(port)).bytesIn };
      const toBytes = normal.map((v) => v.bytes);
      const seconds = (to.time - from.time) / 1000;
      const sourceDelta = to.in - from.in;
      const shares = normal.map((_, i) => (toBytes[i] - fromBytes[i]) / sourceDelta);
      const minShare = Math.min(...shares);

      stop.stopped = true;
      await Promise.all(vanishers);
      assert(
        await until(watchEvictions, Math.max(0, stalledAt + STALL_DEADLINE_MS - performance.now())),
        `${evicted.size} of ${STALLED} stalled viewers were disconnected within ${STALL_DEADLINE_MS} ms`,
      );
      // Only the vanishing ones are left to go: then just the normal viewers watch.
      assert(
        await until(async () => (await status(port)).viewers === NORMAL, 10_000),
        `viewers: ${(await status(port)).viewers}, expected ${NORMAL}`,
      );
      const rssWithViewers = rssMiB(pid);
      // The normal viewers were never cut off.
      const cutOff = normal.filter((v) => v.ended).map((v) => String(v.error ?? "closed"));

      for (const v of normal) await v.close();
      for (const c of stalled) c.close();
      stalled.length = 0;
      assert(
        await until(async () => (await status(port)).viewers === 0, 10_000),
        "every viewer left",
      );
      const fdSettled = await until(() => fdCount(pid) <= fdBaseline + FD_TOLERANCE, 10_000);
      const fdAfter = fdCount(pid);
      clearInterval(rssPoll);
      rssPoll = undefined;

      console.log(
        `hostile: ${NORMAL} normal, ${STALLED} stalled, ${VANISHING} vanishing ` +
          `(${vanishStats.cycles} cycles, ${vanishStats.failures} failed connects); ` +
          `source ${(fileRate * 8 / 1e6).toFixed(2)} Mbit/s, delivered meanwhile ` +
          `${(sourceDelta * 8 / seconds / 1e6).toFixed(2)} Mbit/s; normal viewers got ` +
          `${(minShare * 100).toFixed(1)}–${(Math.max(...shares) * 100).toFixed(1)} % of it; ` +
          `stalled disconnected after ${(Math.min(...evicted.values()) / 1000).toFixed(1)}–${
            (Math.max(...evicted.values()) / 1000).toFixed(1)
          } s; RSS max ${rssMax.toFixed(0)} MiB (${
            rssWithViewers.toFixed(0)
          } with ${NORMAL} viewers); fds ${fdBaseline} → ${fdAfter}`,
      );

      // Normal viewers kept the source's rate, and were never cut off.
      assertEquals(cutOff, [], "normal viewers whose stream ended");
      assertGreaterOrEqual(
        minShare,
        RATE_SHARE,
        `shares of the source's bytes: ${shares.map((s) => s.toFixed(3)).join(" ")}`,
      );
      // The server kept real time (its pacing is what a viewer's rate is measured against).
      assertGreaterOrEqual(sourceDelta / seconds, RATE_SHARE * fileRate);
      // Exactly the stalled viewers were disconnected for stalling.
      assertEquals([...evicted.keys()].sort(), [...stalledPorts].sort());
      assertEquals(
        server.lines.filter((l) => / WARN /.test(l) && !evictionPattern.test(l)),
        [],
      );
      assertEquals(server.lines.filter((l) => / ERROR /.test(l)), []);
      assertLessOrEqual(rssMax, RSS_BOUND_MIB);
      assert(fdSettled, `fds: ${fdBaseline} before, ${fdAfter} after`);
      server.kill("SIGTERM");
      assertEquals(await server.exit(), 0, server.log);
    } finally {
      stop.stopped = true;
      if (rssPoll !== undefined) clearInterval(rssPoll);
      await Promise.all(vanishers);
      for (const v of normal) await v.close();
      for (const c of stalled) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
