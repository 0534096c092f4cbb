import { assert, assertEquals, assertLess, assertMatch, assertStringIncludes } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { type Block, readSimpleBlock } from "../lib/matroska/block.ts";
import { readUint } from "../lib/ebml/values.ts";
import { createHandler } from "../lib/server/handler.ts";
import { serveMount } from "../lib/server/serve.ts";
import { Mount } from "../lib/stream/mount.ts";
import { demux, type LiveMount, liveMount as liveMountWith, readFixture } from "./_util.ts";

/** A mount fed from a fixture, at real time (no preroll) or all at once. */
function liveMount(name: string, realtime: boolean): Promise<LiveMount> {
  return liveMountWith(name, { realtime });
}

Deno.test("handler answers 404 for unknown paths and 405 for other methods", async () => {
  const handler = createHandler(new Mount("stream"));
  const notFound = await handler(new Request("http://x/nope"));
  assertEquals(notFound.status, 404);
  await notFound.body?.cancel();
  const post = await handler(
    new Request("http://x/stream", { method: "POST", body: "x" }),
  );
  assertEquals(post.status, 405);
  assertEquals(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
});

Deno.test("handler answers 503 with Retry-After while the source has not started", async () => {
  const handler = createHandler(new Mount("stream"), { readyTimeout: 20 });
  const response = await handler(new Request("http://x/stream"));
  assertEquals(response.status, 503);
  assertEquals(response.headers.get("retry-after"), "5");
  await response.body?.cancel();
});

Deno.test("handler serves HEAD and GET /stream with the contract's headers", async () => {
  const live = await liveMount("sample.webm", false);
  try {
    const handler = createHandler(live.mount);
    for (const path of ["/stream", "/stream.webm", "/stream.mkv", "/"]) {
      for (const method of ["HEAD", "GET"]) {
        const response = await handler(
          new Request(`http://x${path}`, { method }),
        );
        assertEquals(response.status, 200, `${method} ${path}`);
        assertEquals(response.headers.get("content-type"), "video/webm");
        assertEquals(response.headers.get("cache-control"), "no-store");
        assertEquals(response.headers.get("access-control-allow-origin"), "*");
        assertEquals(response.headers.get("content-length"), null);
        assertEquals(response.headers.get("accept-ranges"), null);
        await response.body?.cancel();
      }
    }
  } finally {
    await live.close();
  }
});

Deno.test("handler serves a player page to browsers at /, JSON at /status and Prometheus text at /metrics", async () => {
  const live = await liveMount("h264_aac.mkv", false);
  try {
    const handler = createHandler(live.mount);
    const page = await handler(
      new Request("http://x/", {
        headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      }),
    );
    assertMatch(page.headers.get("content-type")!, /^text\/html/);
    const html = await page.text();
    // The live player plays /stream; H.264/AAC in the <video> itself (no Media Source type).
    assertStringIncludes(html, 'data-stream="/stream"');
    assertStringIncludes(html, 'data-mse-type=""');
    assertStringIncludes(html, "V_MPEG4/ISO/AVC");
    const status = await handler(new Request("http://x/status"));
    const json = await status.json();
    const mount = json.mounts[0];
    assertEquals(mount.name, "stream");
    assertEquals(mount.contentType, "video/x-matroska");
    assertEquals(mount.tracks.map((t: { codecId: string }) => t.codecId), [
      "V_MPEG4/ISO/AVC",
      "A_AAC",
    ]);
    assert(mount.bytesIn > 0);
    // The process's memory, as the server's own figures.
    const { rss, heapUsed, heapTotal, external } = json.process;
    assert(rss > heapTotal && heapTotal >= heapUsed && heapUsed > 0 && external > 0, json.process);
    const metrics = await (await handler(new Request("http://x/metrics")))
      .text();
    assertStringIncludes(metrics, "# TYPE mkserver_bytes_in_total counter");
    assertMatch(
      metrics,
      /^mkserver_bytes_in_total\{mount="stream"\} [1-9]\d*$/m,
    );
    assertMatch(metrics, /^mkserver_viewers\{mount="stream"\} 0$/m);
  } finally {
    await live.close();
  }
});

/** Reads a stream response until its first whole Cluster: the header bytes and that Cluster's blocks. */
async function readFirstCluster(response: Response) {
  const reader = new EbmlReader();
  const received: Uint8Array[] = [];
  const blocks: Block[] = [];
  let clusterOffset = -1;
  let clusterTime = 0;
  let done = false;
  const body = response.body!.getReader();
  let firstMediaAt = 0;
  try {
    while (!done) {
      const { value } = await body.read();
      if (!value) break;
      received.push(value);
      reader.push(value, (e) => {
        if (done) return;
        if (e.type === "start" && e.id === ID.Cluster && clusterOffset < 0) {
          clusterOffset = e.offset;
        }
        if (e.type === "element" && e.id === ID.Timestamp) {
          clusterTime = readUint(e.data);
        }
        if (e.type === "element" && e.id === ID.SimpleBlock) {
          blocks.push(readSimpleBlock(e.data, clusterTime));
        }
        if (e.type === "end" && e.id === ID.Cluster) {
          done = true;
          firstMediaAt = performance.now();
        }
      });
    }
  } finally {
    await body.cancel();
  }
  const all = new Uint8Array(received.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of received) {
    all.set(c, at);
    at += c.length;
  }
  return { header: all.subarray(0, clusterOffset), blocks, firstMediaAt };
}

Deno.test("serveMount (listen engine): three viewers joining at different times each get the header, then a keyframe Cluster", async () => {
  const live = await liveMount("sample.webm", true);
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/stream`;
    for (const delay of [0, 900, 1300]) {
      await new Promise((r) => setTimeout(r, delay));
      const { header, blocks } = await readFirstCluster(await fetch(url));
      assertEquals(header, live.mount.header!.bytes);
      assert(blocks.length > 0);
      assertEquals(blocks[0].track, 1, "first block is video");
      assert(blocks[0].keyframe, "first block is a keyframe");
    }
  } finally {
    await live.close();
    await server.shutdown();
  }
});

Deno.test("serveMount (listen engine): a viewer that aborts is released (no viewer left, no GOP held)", async () => {
  const live = await liveMount("sample.webm", true);
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/stream`;
    const abort = new AbortController();
    const response = await fetch(url, { signal: abort.signal });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    assertEquals(live.mount.clients.size, 1);
    abort.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 100 && live.mount.clients.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(live.mount.clients.size, 0);
    assert(live.mount.ring.gops.every((g) => g.refs === 0));
    await server.idle();
    assertEquals(server.activeStreams, 0);
  } finally {
    await live.close();
    await server.shutdown();
  }
});

Deno.test("serveMount (listen engine): on a 12 s GOP a viewer joining mid-GOP gets media within a second", async () => {
  const live = await liveMount("long_gop.webm", true);
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1" });
  try {
    await new Promise((r) => setTimeout(r, 2500)); // well inside the only GOP
    const requested = performance.now();
    const { blocks, firstMediaAt } = await readFirstCluster(
      await fetch(`http://127.0.0.1:${server.addr.port}/stream`),
    );
    assertLess(firstMediaAt - requested, 1000);
    assert(blocks[0].keyframe && blocks[0].track === 1);
  } finally {
    await live.close();
    await server.shutdown();
  }
});

Deno.test("serveMount (listen engine): a viewer receives every block up to the source's end, then the response closes", async () => {
  const source = demux(await readFixture("audio_only.webm")).blocks;
  const live = await liveMount("audio_only.webm", true);
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1" });
  try {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/stream`);
    const { blocks } = demux(new Uint8Array(await response.arrayBuffer()));
    // It joined at the first GOP and stayed to the end: the same blocks, the last one included.
    assertEquals(blocks.length, source.length);
    assertEquals(
      blocks[blocks.length - 1].time,
      source[source.length - 1].time,
    );
    assertEquals(
      blocks[blocks.length - 1].frames,
      source[source.length - 1].frames,
    );
    await server.idle();
  } finally {
    await live.close();
    await server.shutdown();
  }
});

Deno.test("serveMount with engine deno (Deno.serve): a viewer gets the header, then a keyframe Cluster, and is released when it aborts", async () => {
  const live = await liveMount("sample.webm", true);
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1", engine: "deno" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/stream`;
    // Deno.serve frames the viewer's ReadableStream itself: the bytes come plain, not framed twice.
    const { header, blocks } = await readFirstCluster(await fetch(url));
    assertEquals(header, live.mount.header!.bytes);
    assert(blocks[0].keyframe && blocks[0].track === 1, "first block is a video keyframe");
    const status = await (await fetch(`http://127.0.0.1:${server.addr.port}/status`)).json();
    assertEquals(status.mounts[0].evictions, 0);
    for (let i = 0; i < 100 && live.mount.clients.size > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(live.mount.clients.size, 0);
    assert(live.mount.ring.gops.every((g) => g.refs === 0));
    await server.idle();
    assertEquals([server.activeStreams, server.evictions], [0, 0]);
  } finally {
    await live.close();
    await server.shutdown();
  }
});
