/**
 * The events a webhook receiver hears from a running server, in order: a pushed source that
 * publishes and unpublishes (the mkserver command line, with ffmpeg pushing), a FILE INPUT's,
 * viewers that play and stop, and stalled viewers that are evicted (the command line with an
 * uncompressed source fast enough to fill a socket's buffers; `serveMount` with a synthetic
 * one); the handler's own stop reasons.
 */

import { assert, assertEquals, assertGreater, assertMatch } from "@std/assert";
import { until } from "../bench/_proc.ts";
import type { Block } from "../lib/matroska/block.ts";
import { createHandler } from "../lib/server/handler.ts";
import { serveMount } from "../lib/server/serve.ts";
import { SIGNATURE_HEADER } from "../lib/server/webhooks/webhook_signature.ts";
import { type WebhookPayload, Webhooks } from "../lib/server/webhooks/webhooks.ts";
import { Mount } from "../lib/stream/mount.ts";
import { MountRegistry } from "../lib/stream/mount_registry.ts";
import { CliServer, ffmpegPush, run } from "./_cli.ts";
import { HookSink } from "./_hooks.ts";
import { demux, readFixture } from "./_util.ts";

const TOKEN = "push-secret";
const SECRET = "hook-secret";

/** The bytes of a stream response, until it ends or `limit` bytes came (then it is cancelled). */
async function readStream(response: Response, limit = Infinity): Promise<number> {
  let bytes = 0;
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return bytes;
      bytes += value.length;
      if (bytes >= limit) return bytes;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function hmacHex(secret: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The event of `type` for viewer `viewer` (or the mount's own when `viewer` is undefined). */
function find(events: WebhookPayload[], type: string, viewer?: number): WebhookPayload {
  const found = events.find((e) =>
    e.type === type && (viewer === undefined || ("viewer" in e && e.viewer === viewer))
  );
  assert(
    found,
    `a ${type} event${viewer ? ` of viewer ${viewer}` : ""} in ${JSON.stringify(events)}`,
  );
  return found;
}

Deno.test({
  name:
    "mkserver --webhook tells of a pushed source's publish and unpublish and its viewers' play and stop, in order",
  async fn() {
    await using sink = HookSink.start();
    await using server = await CliServer.start([
      "--port=0",
      "--host=127.0.0.1",
      `--source-token=${TOKEN}`,
      "--source-grace=0",
      `--webhook=${sink.url}`,
      `--webhook-secret=${SECRET}`,
    ]);
    const pushing = ffmpegPush("h264_aac.mkv", server.url("/live/cam"), { token: TOKEN });
    assert(await until(() => sink.events().some((e) => e.type === "publish"), 10_000), "publish");
    // Viewer 1 reads a little and leaves; then viewer 2 comes and stays to the end.
    const first = await fetch(server.url("/live/cam"));
    const firstBytes = await readStream(first, 20_000);
    assert(await until(() => sink.events().some((e) => e.type === "stop"), 10_000), "stop");
    const second = await fetch(server.url("/live/cam"));
    const reading = readStream(second);
    const pushed = await pushing;
    assertEquals(pushed.code, 0, pushed.stderr);
    const secondBytes = await reading;
    assert(await until(() => sink.events().length >= 6, 10_000), JSON.stringify(sink.events()));
    await server.waitForLine(/Mount cam ended/);

    const events = sink.events();
    assertEquals(events.map((e) => e.type), [
      "publish",
      "play",
      "stop",
      "play",
      "unpublish",
      "stop",
    ]);
    assertEquals(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
    assert(events.every((e) => e.mount === "cam"));
    const [one, two] = events.filter((e) => e.type === "play").map((e) =>
      "viewer" in e ? e.viewer : 0
    );
    const left = find(events, "stop", one);
    const ended = find(events, "stop", two);
    assertEquals(events.indexOf(left), 2, "viewer 1's stop, then viewer 2's play");
    assert(two > one, `viewer ids ${one}, ${two}`);
    if (left.type !== "stop" || ended.type !== "stop") throw new Error("stop events");
    assertEquals([left.reason, ended.reason], ["left", "ended"]);
    // A viewer that read to the end got every byte the server counted for it.
    assertEquals(ended.bytes, secondBytes);
    assert(left.bytes >= firstBytes, `${left.bytes} handed out, ${firstBytes} read`);
    assertGreater(ended.durationMs, 1000);
    for (const e of [left, ended]) assertMatch(e.address, /^127\.0\.0\.1:\d+$/);
    // The unpublish carries what the source sent, as the server logged it.
    const logged = await server.waitForLine(/Source of \/live\/cam ended after (\d+) bytes/);
    const unpublish = find(events, "unpublish");
    if (unpublish.type !== "unpublish") throw new Error("unpublish");
    assertEquals(unpublish.bytes, Number(logged[1]));
    assertGreater(unpublish.durationMs, 4000); // a 6 s file pushed at real time
    const publish = find(events, "publish");
    if (publish.type !== "publish") throw new Error("publish");
    assertMatch(publish.address ?? "", /^127\.0\.0\.1:\d+$/);
    assertEquals(unpublish.address, publish.address);
    // Every post is signed with the secret, over the body as sent.
    for (const post of sink.posts) {
      assertEquals(
        post.headers.get(SIGNATURE_HEADER),
        `sha256=${await hmacHex(SECRET, post.body)}`,
      );
    }
    // /status and /metrics show the receiver: everything delivered, nothing dropped.
    const status = await (await fetch(server.url("/status"))).json();
    assertEquals(status.webhooks.length, 1);
    const [hook] = status.webhooks;
    assertEquals([hook.receiver, hook.state, hook.delivered, hook.dropped, hook.queued], [
      sink.url,
      "ok",
      6,
      0,
      0,
    ]);
    const metrics = await (await fetch(server.url("/metrics"))).text();
    assertMatch(
      metrics,
      new RegExp(`^mkserver_webhook_delivered_total\\{receiver="${sink.url}"\\} 6$`, "m"),
    );
    assertMatch(
      metrics,
      new RegExp(`^mkserver_webhook_dropped_total\\{receiver="${sink.url}"\\} 0$`, "m"),
    );
    server.kill("SIGTERM");
    assertEquals(await server.exit(), 0);
  },
});

Deno.test({
  name:
    "mkserver FILE --webhook: the INPUT publishes at start and unpublishes at its end, and the last events reach the receiver before the process exits",
  async fn() {
    await using sink = HookSink.start();
    await using server = await CliServer.start([
      "--port=0",
      "--host=127.0.0.1",
      `--webhook=${sink.url}`,
      "testdata/audio_only.webm",
    ]);
    const bytes = await readStream(await fetch(server.url("/stream")));
    assertEquals(await server.exit(), 0);
    const events = sink.events();
    assertEquals(events.map((e) => e.type), ["publish", "play", "unpublish", "stop"]);
    const stop = find(events, "stop");
    if (stop.type !== "stop") throw new Error("stop");
    assertEquals([stop.mount, stop.reason, stop.bytes], ["stream", "ended", bytes]);
    const unpublish = find(events, "unpublish");
    if (unpublish.type !== "unpublish") throw new Error("unpublish");
    const logged = await server.waitForLine(/Input ended after (\d+) bytes/);
    assertEquals(unpublish.bytes, Number(logged[1]));
    assertEquals(unpublish.address, undefined);
  },
});

Deno.test({
  name:
    "mkserver --stall-timeout 1 --webhook: a pushed source's viewer that stops reading is an evict event, not a stop",
  async fn() {
    await using sink = HookSink.start();
    await using server = await CliServer.start([
      "--port=0",
      "--host=127.0.0.1",
      `--source-token=${TOKEN}`,
      "--source-grace=0",
      "--no-segments",
      "--stall-timeout=1",
      `--webhook=${sink.url}`,
    ]);
    // Uncompressed 640x480 video at real time: about 11 MB/s, so the stalled viewer's socket
    // buffers fill within a second or so.
    const pushing = run("ffmpeg", [
      ...["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25"],
      ...["-t", "8", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "matroska"],
      ...["-method", "PUT", "-headers", `Authorization: Bearer ${TOKEN}\r\n`],
      server.url("/live/raw"),
    ], { timeout: 30_000 });
    assert(await until(() => sink.events().some((e) => e.type === "publish"), 10_000), "publish");
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const address = `127.0.0.1:${(stalled.localAddr as Deno.NetAddr).port}`;
      await stalled.write(new TextEncoder().encode("GET /live/raw HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert(
        await until(() => sink.events().some((e) => e.type === "evict"), 10_000),
        `an evict event; log:\n${server.log}`,
      );
      await server.waitForLine(/accepted no bytes for \d+ s: disconnecting it/);
      const pushed = await pushing;
      assertEquals(pushed.code, 0, pushed.stderr);
      assert(await until(() => sink.events().some((e) => e.type === "unpublish"), 10_000));
      const events = sink.events();
      assertEquals(events.map((e) => e.type), ["publish", "play", "evict", "unpublish"]);
      const evict = find(events, "evict");
      if (evict.type !== "evict") throw new Error("evict");
      assertEquals([evict.mount, evict.address], ["raw", address]);
      assertGreater(evict.bytes, 1_000_000);
      assertGreater(evict.durationMs, 1000);
    } finally {
      stalled.close();
    }
  },
});

Deno.test({
  name:
    "a stalled viewer's end is an evict event, with its bytes and duration; the viewer that left is a stop",
  async fn() {
    await using sink = HookSink.start();
    const hooks = new Webhooks([sink.url]);
    const registry = new MountRegistry({
      mountOptions: { maxDuration: 2000 },
      events: hooks,
      grace: 0,
    });
    const publication = registry.publish("stream");
    publication.setHeader(demux(await readFixture("sample.webm")).header);
    const server = serveMount(registry, {
      port: 0,
      hostname: "127.0.0.1",
      stallTimeout: 1000,
      webhooks: hooks,
    });
    const port = server.addr.port;
    // About 50 MB/s, so the stalled viewer's socket buffers fill within a second or two.
    const frame = new Uint8Array(256 * 1024);
    let time = 0;
    const block = (): Block => {
      const keyframe = time % 2000 === 0;
      time += 40;
      const flags = keyframe ? 0x80 : 0;
      return { track: 1, time: time - 40, keyframe, group: false, flags, frames: frame, extra: [] };
    };
    const feed = setInterval(() => {
      publication.pushBlock(block());
      publication.pushBlock(block());
    }, 10);
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
    const stalledAddress = `127.0.0.1:${(stalled.localAddr as Deno.NetAddr).port}`;
    const normal = await fetch(`http://127.0.0.1:${port}/stream`);
    let normalBytes = 0;
    const reader = normal.body!.getReader();
    const reading = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        normalBytes += r.value.length;
        if (server.evictions > 0) break;
      }
      await reader.cancel();
    })().catch(() => {});
    try {
      await stalled.write(new TextEncoder().encode("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert(await until(() => server.evictions === 1, 15_000), "the stalled viewer was evicted");
      await reading;
      assert(await until(() => sink.events().length === 5, 5000), JSON.stringify(sink.events()));
      const events = sink.events();
      assertEquals(events.map((e) => e.type).slice(0, 3), ["publish", "play", "play"]);
      const evict = find(events, "evict");
      if (evict.type !== "evict") throw new Error("evict");
      assertEquals(evict.address, stalledAddress);
      const play = events.find((e) => e.type === "play" && e.address === stalledAddress);
      assertEquals(play && "viewer" in play ? play.viewer : -1, evict.viewer);
      // It was handed megabytes before it stopped reading, over at least the stall timeout.
      assertGreater(evict.bytes, 1_000_000);
      assertGreater(evict.durationMs, 1000);
      const stop = find(events, "stop");
      if (stop.type !== "stop") throw new Error("stop");
      assertEquals(stop.reason, "left");
      assert(stop.bytes >= normalBytes, `${stop.bytes} handed out, ${normalBytes} read`);
      assertEquals(events.filter((e) => e.type === "evict" || e.type === "stop").length, 2);
    } finally {
      clearInterval(feed);
      stalled.close();
      publication.finish();
      await server.shutdown();
      await hooks.close(2000);
    }
  },
});

Deno.test("the handler tells each viewer's play and why it stopped: left, closed by the admin API, ended", async () => {
  await using sink = HookSink.start();
  const hooks = new Webhooks([sink.url]);
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream");
  mount.setHeader(header);
  for (const block of blocks.slice(0, 200)) mount.pushBlock(block);
  const adminToken = "admin-token-for-tests";
  const handler = createHandler(mount, { adminToken, webhooks: hooks });
  const viewer = async (port: number) => {
    const info = { remoteAddr: { hostname: "192.0.2.1", port } };
    const response = await handler(new Request("http://x/stream"), info);
    const reader = response.body!.getReader();
    const first = await reader.read(); // the header
    assertGreater(first.value?.length ?? 0, 0);
    return reader;
  };
  const leaving = await viewer(5001);
  const closed = await viewer(5002);
  const staying = await viewer(5003);
  await leaving.cancel();
  const id = mount.viewers().find((v) => v.address === "192.0.2.1:5002")?.id;
  const deleted = await handler(
    new Request(`http://x/admin/viewers/${id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${adminToken}` },
    }),
  );
  assertEquals(deleted.status, 204);
  await deleted.body?.cancel();
  while (!(await closed.read()).done) { /* the rest it was handed, then its end */ }
  mount.end();
  while (!(await staying.read()).done) { /* to the end of the stream */ }
  await hooks.close(5000);
  const events = sink.events().map((e) =>
    e.type === "stop" ? [e.type, e.address, e.reason] : [e.type, "address" in e && e.address]
  );
  assertEquals(events, [
    ["play", "192.0.2.1:5001"],
    ["play", "192.0.2.1:5002"],
    ["play", "192.0.2.1:5003"],
    ["stop", "192.0.2.1:5001", "left"],
    ["stop", "192.0.2.1:5002", "closed"],
    ["stop", "192.0.2.1:5003", "ended"],
  ]);
});
