// Webhooks: every event to every receiver, in order, with an id and seq to dedupe retries by,
// and a signature a receiver can check with the shared secret.
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { Webhooks } from "../lib/server/webhooks/webhooks.ts";
import { SIGNATURE_HEADER } from "../lib/server/webhooks/webhook_signature.ts";
import type { StreamEvent } from "../lib/stream/stream_events.ts";
import { HookSink } from "./_hooks.ts";

/** Checks `header` (`sha256=HEX`) against `body` with WebCrypto's verify, as a receiver would. */
async function verifies(secret: string, body: string, header: string | null): Promise<boolean> {
  const match = /^sha256=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(match[1].match(/../g)!, (h) => parseInt(h, 16));
  return crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(body));
}

/** A mount's life as events: a source, viewers coming and going, the source leaving. */
function lifeOf(mount: string, viewers: number): StreamEvent[] {
  const events: StreamEvent[] = [{ type: "publish", mount, address: "192.0.2.9:4000" }];
  for (let viewer = 1; viewer <= viewers; viewer++) {
    events.push({ type: "play", mount, viewer, address: `192.0.2.1:${5000 + viewer}` });
  }
  for (let viewer = 1; viewer <= viewers; viewer++) {
    events.push({
      type: viewer % 3 === 0 ? "evict" : "stop",
      mount,
      viewer,
      address: `192.0.2.1:${5000 + viewer}`,
      bytes: viewer * 1000,
      durationMs: viewer * 10,
      ...(viewer % 3 === 0 ? {} : { reason: "left" as const }),
    } as StreamEvent);
  }
  events.push({ type: "unpublish", mount, bytes: 123456, durationMs: 9000 });
  return events;
}

Deno.test("Webhooks posts every event to every receiver in order, retried ones with the same id and seq", async () => {
  // The first receiver refuses every third post once: the retry comes before the next event.
  await using flaky = HookSink.start({
    answer: (p) =>
      p.payload.seq % 3 === 0 && p.headers.get("x-mkserver-attempt") === "1" ? 503 : 204,
  });
  await using steady = HookSink.start();
  const hooks = new Webhooks([flaky.url, steady.url], { backoff: 10, maxBackoff: 20 });
  const events = lifeOf("cam1", 10);
  for (const event of events) hooks.emit(event);
  assertEquals(hooks.emitted, events.length);
  await hooks.close(10_000);
  for (const sink of [flaky, steady]) {
    const got = sink.events();
    assertEquals(got.map((e) => e.seq), events.map((_, i) => i + 1));
    // Each payload is the event as emitted, plus id, seq and time.
    assertEquals(got.map(({ id: _, seq: _s, time: _t, ...rest }) => rest), events);
    assertEquals(new Set(got.map((e) => e.id)).size, events.length);
    for (const e of got) assertMatch(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Posts arrive in seq order: a retry repeats the seq it failed on, never goes back.
    const seqs = sink.posts.map((p) => p.payload.seq);
    for (let i = 1; i < seqs.length; i++) assert(seqs[i] >= seqs[i - 1], `in order: ${seqs}`);
  }
  // The same event has the same id for both receivers, and on a retry.
  assertEquals(flaky.events().map((e) => e.id), steady.events().map((e) => e.id));
  const retried = flaky.posts.filter((p) => p.headers.get("x-mkserver-attempt") === "2");
  const thirds = events.map((_, i) => i + 1).filter((seq) => seq % 3 === 0);
  assertEquals(retried.map((p) => p.payload.seq), thirds);
  assertEquals(flaky.posts.length, events.length + thirds.length);
  assertEquals(steady.posts.length, events.length);
  const [status] = hooks.status();
  assertEquals(
    [status.delivered, status.dropped, status.failures, status.queued, status.state],
    [events.length, 0, thirds.length, 0, "ok"],
  );
  const headers = steady.posts[0].headers;
  assertEquals(headers.get("content-type"), "application/json");
  assertEquals(headers.get("x-mkserver-event"), "publish");
  assertEquals(headers.get("x-mkserver-delivery"), steady.posts[0].payload.id);
  assertEquals(headers.get(SIGNATURE_HEADER), null); // no secret, no signature
});

Deno.test("Webhooks signs each body with HMAC-SHA256 of --webhook-secret", async () => {
  await using sink = HookSink.start();
  const hooks = new Webhooks([sink.url], { secret: "s3cret" });
  for (const event of lifeOf("cam2", 3)) hooks.emit(event);
  await hooks.close(5000);
  assertEquals(sink.posts.length, 8);
  for (const post of sink.posts) {
    const header = post.headers.get(SIGNATURE_HEADER);
    assert(await verifies("s3cret", post.body, header), `signature ${header} verifies`);
    assertEquals(await verifies("other", post.body, header), false);
    // Altered bodies fail.
    assertEquals(await verifies("s3cret", post.body.replace("cam2", "cam3"), header), false);
  }
  assertThrows(() => new Webhooks([sink.url], { secret: "" }), TypeError, "empty");
});

Deno.test("Webhooks counts per receiver in /metrics samples and refuses URLs that are not http(s)", async () => {
  await using sink = HookSink.start();
  const hooks = new Webhooks([`${sink.url}?token=abc`]);
  hooks.emit({ type: "play", mount: "m", viewer: 1, address: "a" });
  assert(await until(() => sink.posts.length === 1, 5000));
  await hooks.close(1000);
  const samples = Object.fromEntries(hooks.samples().map((s) => [s.metric.name, s]));
  assertEquals(samples.mkserver_webhook_delivered_total.value, 1);
  assertEquals(samples.mkserver_webhook_dropped_total.value, 0);
  assertEquals(samples.mkserver_webhook_up.value, 1);
  // The label leaves out the query, which may hold a secret.
  assertEquals(samples.mkserver_webhook_queued.labels, { receiver: sink.url + "?…" });
  assertThrows(() => new Webhooks(["ftp://example.org/"]), TypeError, "http(s)");
});
