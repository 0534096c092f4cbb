// A webhook receiver that is down, or hangs, costs a bounded queue and counted drops; its log
// tells each change of state once.
import { assert, assertEquals, assertGreater, assertLess, assertMatch } from "@std/assert";
import { freePort, sleep, until } from "../bench/_proc.ts";
import { createLogger } from "../lib/log.ts";
import { type Delivery, WebhookReceiver } from "../lib/server/webhooks/webhook_receiver.ts";
import { HangingReceiver, HookSink } from "./_hooks.ts";

function delivery(seq: number): Delivery {
  const id = crypto.randomUUID();
  return { id, seq, type: "play", body: JSON.stringify({ id, seq, type: "play" }) };
}

function logLines(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (line) => lines.push(line)) };
}

Deno.test("WebhookReceiver keeps at most its queue limit for a receiver that is down, counts drops, and catches up in order once it answers", async () => {
  const port = freePort(); // nothing listens there
  const { lines, log } = logLines();
  const receiver = new WebhookReceiver(`http://127.0.0.1:${port}/hook`, {
    queueLimit: 5,
    backoff: 20,
    maxBackoff: 80,
    attempts: 3,
    log,
  });
  let most = 0;
  for (let seq = 1; seq <= 50; seq++) {
    receiver.enqueue(delivery(seq));
    most = Math.max(most, receiver.queued);
    if (seq % 10 === 0) await sleep(30);
  }
  assert(most <= 6, `at most the limit waits, plus the one in flight: ${most}`);
  assert(await until(() => receiver.status().failures >= 6, 5000), "it kept retrying");
  const status = receiver.status();
  assertEquals(status.state, "failing");
  assertMatch(status.lastError ?? "", /refused|connect/i);
  assertGreater(status.dropped, 40);
  // Two lines so far (the queue filled before the first attempt failed): events are being
  // dropped, and the receiver fails; none per event or retry.
  assertEquals(lines.length, 2, lines.join("\n"));
  assertMatch(lines[0], /WARN Webhook .*: dropping events \(its queue of 5 events is full\)/);
  assertMatch(
    lines[1],
    /WARN Webhook http:\/\/127\.0\.0\.1:\d+\/hook failed: .*retrying with backoff/,
  );
  assertMatch(lines[1], /Connection refused/);
  // The receiver comes up: what is left is delivered, in order, and the log says so once.
  await using sink = HookSink.start({ port });
  assert(await until(() => receiver.queued === 0, 5000), "the queue drained");
  const got = sink.events().map((e) => e.seq);
  assertEquals(got, [...got].sort((a, b) => a - b));
  assertEquals(receiver.delivered, got.length);
  assertEquals(receiver.delivered + receiver.dropped, 50);
  assertEquals(got.at(-1), 50); // the newest events are the ones kept
  assertEquals(lines.length, 3, lines.join("\n"));
  assertMatch(lines[2], /INFO Webhook .* answers again \(\d+ event\(s\) were dropped meanwhile\)/);
  assertEquals(receiver.status().state, "ok");
  await receiver.close();
});

Deno.test("WebhookReceiver gives up on a receiver that accepts and never answers, and enqueue never waits for it", async () => {
  using hanging = new HangingReceiver();
  const { lines, log } = logLines();
  const receiver = new WebhookReceiver(hanging.url, {
    queueLimit: 100,
    timeout: 200,
    backoff: 10,
    maxBackoff: 10,
    attempts: 2,
    log,
  });
  const start = performance.now();
  for (let seq = 1; seq <= 10_000; seq++) receiver.enqueue(delivery(seq));
  const ms = performance.now() - start;
  assertLess(ms, 500, `10,000 events enqueued in ${ms.toFixed(0)} ms`);
  assertEquals(receiver.queued, 101);
  assertEquals(receiver.dropped, 9_899);
  assert(await until(() => receiver.status().failures >= 4, 5000), "attempts time out");
  assertEquals(receiver.status().lastError, "no answer within 0.2 s");
  assertGreater(hanging.accepted, 0);
  // The first event spent both attempts: dropped, and the next one is posted.
  assert(await until(() => receiver.dropped >= 9_900, 5000));
  assertEquals(lines.length, 2, lines.join("\n"));
  // Closing aborts the attempt in flight and drops (and counts) what waits, with one line.
  const left = receiver.queued;
  await receiver.close();
  assertEquals(receiver.dropped + receiver.delivered, 10_000);
  assertEquals(lines.length, 3);
  assertMatch(lines[2], new RegExp(`${left} event\\(s\\) not delivered \\(stopping\\)`));
  await hanging.close();
});

Deno.test("WebhookReceiver keeps a URL's credentials and query out of its label, its log and its last error", async () => {
  const { lines, log } = logLines();
  const port = freePort();
  const receiver = new WebhookReceiver(`http://user:pw@127.0.0.1:${port}/hook?token=t0ps3cret`, {
    attempts: 1,
    log,
  });
  assertEquals(receiver.label, `http://127.0.0.1:${port}/hook?…`);
  receiver.enqueue(delivery(1));
  assert(await until(() => receiver.dropped === 1, 5000), "the one attempt failed");
  const said = [...lines, receiver.status().lastError ?? "", JSON.stringify(receiver.status())];
  for (const text of said) {
    assertEquals(/t0ps3cret|pw@/.test(text), false, text);
  }
  assertMatch(receiver.status().lastError ?? "", /Connection refused/);
  await receiver.close();
});
