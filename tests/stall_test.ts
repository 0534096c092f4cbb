// Stalled viewers: disconnected after the stall timeout, their sockets really closed.
import { assert, assertEquals, assertGreater, assertMatch } from "@std/assert";
import { until } from "../bench/_proc.ts";
import type { Block } from "../lib/matroska/block.ts";
import { serveMount } from "../lib/server/serve.ts";
import { parseProcNetTcp } from "../lib/server/tcp_queues.ts";
import { Mount } from "../lib/stream/mount.ts";
import { demux, readFixture } from "./_util.ts";

/** Whether this process holds an fd on the socket with this inode. */
function holdsSocket(inode: string): boolean {
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (
        Deno.readLinkSync(`/proc/self/fd/${entry.name}`) === `socket:[${inode}]`
      ) return true;
    } catch { /* closed meanwhile */ }
  }
  return false;
}

/** The inode of the server-side socket from `serverPort` to the peer at `peerPort`. */
function serverSocketInode(
  serverPort: number,
  peerPort: number,
): string | undefined {
  for (const path of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = parseInt(f[1].split(":")[1], 16);
      const remote = parseInt(f[2].split(":")[1], 16);
      if (local === serverPort && remote === peerPort) return f[9];
    }
  }
  return undefined;
}

/** Established server-side connections on `port` (from the kernel's table). */
function establishedOn(port: number): number {
  let n = 0;
  for (const path of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (
        f.length > 3 && f[3] === "01" &&
        parseInt(f[1].split(":")[1], 16) === port
      ) n++;
    }
  }
  return n;
}

Deno.test("parseProcNetTcp reads send queues of established connections by remote address", () => {
  const text =
    `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 003C0000:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1`;
  const queues = parseProcNetTcp(text);
  assertEquals([...queues], [["127.0.0.1:54321", 0x3C0000]]);
  const v6 =
    `  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:D431 01 00000010:00000000`;
  assertEquals([...parseProcNetTcp(v6)], [["127.0.0.1:54321", 16]]);
  // Filtered by local port: only the server's own connections.
  assertEquals([...parseProcNetTcp(text, new Map(), 8080)], [["127.0.0.1:54321", 0x3C0000]]);
  assertEquals([...parseProcNetTcp(text, new Map(), 8081)], []);
});

Deno.test({
  name:
    "a stalled viewer is disconnected after the stall timeout, its fd released, while others keep receiving",
  async fn() {
    const { header } = demux(await readFixture("sample.webm"));
    const mount = new Mount("stream", { maxDuration: 2000 });
    mount.setHeader(header);
    const server = serveMount(mount, {
      port: 0,
      hostname: "127.0.0.1",
      stallTimeout: 1000,
    });
    const port = server.addr.port;
    // A fast synthetic source (about 50 MB/s), so the stalled viewer's socket buffers fill quickly.
    const frame = new Uint8Array(256 * 1024);
    let time = 0;
    const block = (): Block => {
      const keyframe = time % 2000 === 0;
      const b = {
        track: 1,
        time,
        keyframe,
        group: false,
        flags: keyframe ? 0x80 : 0,
        frames: frame,
        extra: [],
      };
      time += 40;
      return b;
    };
    const feed = setInterval(() => {
      mount.pushBlock(block());
      mount.pushBlock(block());
    }, 10);
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
    let normalBytes = 0;
    const normal = await fetch(`http://127.0.0.1:${port}/stream`);
    const reading = (async () => {
      for await (const chunk of normal.body!) normalBytes += chunk.length;
    })().catch(() => {});
    try {
      await stalled.write(
        new TextEncoder().encode("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      assert(
        await until(() => mount.clients.size === 2, 2000),
        "both viewers joined",
      );
      // The server holds an fd on the stalled viewer's socket (found by its inode; counting all
      // fds would also count other test files running in this process).
      const inode = serverSocketInode(
        port,
        (stalled.localAddr as Deno.NetAddr).port,
      );
      assert(
        inode !== undefined && holdsSocket(inode),
        "the server holds the stalled socket",
      );
      assertEquals(establishedOn(port), 2);
      // The stalled viewer never reads: once its buffers are full, nothing more is acknowledged.
      assert(
        await until(() => server.evictions === 1, 15_000),
        "the stalled viewer was disconnected",
      );
      assert(
        await until(() => mount.clients.size === 1, 2000),
        "its place was released",
      );
      // Its server-side fd is gone (the test's own client socket is still open), and the kernel
      // no longer has an established server-side connection for it.
      assert(
        await until(() => !holdsSocket(inode), 2000),
        "the stalled socket's fd was released",
      );
      assertEquals(establishedOn(port), 1);
      // The other viewer kept receiving.
      const before = normalBytes;
      await new Promise((r) => setTimeout(r, 300));
      assertGreater(normalBytes, before);
      assertEquals(server.evictions, 1);
      // Counted for its mount, in /status and /metrics.
      const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
      assertEquals(status.mounts[0].evictions, 1);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assertMatch(metrics, /^mkserver_evictions_total\{mount="stream"\} 1$/m);
    } finally {
      clearInterval(feed);
      stalled.close();
      mount.end();
      await reading;
      await server.shutdown();
    }
  },
});
