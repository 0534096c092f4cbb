// What a webhook event costs the server while its receivers are down: the time of `emit` (one
// JSON body, an id, a place in each receiver's queue) and the heap each queued event holds.
//
//   deno run -A --v8-flags=--expose-gc bench/webhooks.ts [--events 10000] [--receivers 3]
//
// The receivers are closed ports, so every event stays queued (the worst case for memory);
// with and without `--webhook-secret` (the signature is made when an event is first posted, so
// it costs nothing while queued).

import { parseArgs } from "@std/cli/parse-args";
import { Webhooks } from "../lib/server/webhooks/webhooks.ts";
import { freePort, sleep } from "./_proc.ts";

const flags = parseArgs(Deno.args, { string: ["events", "receivers"], boolean: ["help"] });
if (flags.help) {
  console.log("deno run -A --v8-flags=--expose-gc bench/webhooks.ts [--events N] [--receivers N]");
  Deno.exit(0);
}
const EVENTS = Number(flags.events ?? 10_000);
const RECEIVERS = Number(flags.receivers ?? 3);
if (!(EVENTS >= 1 && EVENTS <= 1e6 && RECEIVERS >= 1 && RECEIVERS <= 100)) {
  console.error("webhooks: --events 1..1000000, --receivers 1..100");
  Deno.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) console.error("Run with --v8-flags=--expose-gc for the memory figure");

function emitStops(hooks: Webhooks, count: number): void {
  for (let viewer = 1; viewer <= count; viewer++) {
    hooks.emit({
      type: "stop",
      mount: "stream",
      viewer,
      address: `192.0.2.1:${40_000 + viewer % 20_000}`,
      bytes: 123_456_789,
      durationMs: 98_765,
      reason: "left",
    });
  }
}

const deadUrls = () =>
  Array.from({ length: RECEIVERS }, () => `http://127.0.0.1:${freePort()}/hook`);

// Warm up (the JIT), so the first figure is not the compiler's.
const warm = new Webhooks(deadUrls(), { queueLimit: 1000 });
emitStops(warm, 5000);
await warm.close(0);

for (const secret of [undefined, "bench-secret"]) {
  const hooks = new Webhooks(deadUrls(), { secret, queueLimit: EVENTS });
  gc?.();
  const heap = Deno.memoryUsage().heapUsed;
  const start = performance.now();
  emitStops(hooks, EVENTS);
  const us = (performance.now() - start) * 1000 / EVENTS;
  await sleep(500); // the first attempts fail meanwhile
  gc?.();
  const perEvent = (Deno.memoryUsage().heapUsed - heap) / EVENTS;
  const queued = hooks.receivers.reduce((n, r) => n + r.queued, 0);
  console.log(
    `${secret ? "signed  " : "unsigned"}: ${
      us.toFixed(2)
    } µs per emit to ${RECEIVERS} receivers; ` +
      `${queued} queued, ${
        gc ? `${perEvent.toFixed(0)} heap bytes per event` : "heap not measured"
      }`,
  );
  await hooks.close(0);
}
