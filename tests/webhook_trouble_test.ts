/**
 * Webhook receivers in trouble change nothing for viewers: with one receiver on a closed port
 * and one that accepts connections and never answers, 100 viewers of the mkserver command line
 * keep the source's full rate, each bad receiver's queue stays within `--webhook-queue`, its
 * drops are counted in `/metrics`, a healthy receiver beside them gets every event, and the log
 * tells each receiver's trouble once per change of state, not once per event.
 */

import { assert, assertEquals, assertGreater, assertLess, assertLessOrEqual } from "@std/assert";
import { freePort, sleep, until } from "../bench/_proc.ts";
import { CliServer } from "./_cli.ts";
import { HangingReceiver, HookSink } from "./_hooks.ts";

const VIEWERS = 100;
/**
 * Room for the burst of joins (a healthy receiver takes them one at a time, so a queue smaller
 * than a burst drops some even for it), but not for the joins and the leaves together.
 */
const QUEUE = 150;
/** How long the viewers' rate is measured. */
const WINDOW_MS = 8000;
/**
 * The share of the source's bytes each viewer must get in the window: the file is paced by
 * Clusters of up to a second, so a viewer's count may trail the source's by up to one.
 */
const FULL_RATE = 0.8;

/** A metric's value for `receiver`, from Prometheus text. */
function metric(text: string, name: string, receiver: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{receiver="${receiver}"} `));
  assert(line, `${name} of ${receiver} in /metrics`);
  return Number(line.split(" ").at(-1));
}

Deno.test({
  name:
    "100 viewers keep their full rate while one webhook receiver is down and one hangs; drops are counted and logged once",
  async fn() {
    const dead = `http://127.0.0.1:${freePort()}/hook`; // nothing listens there
    using hanging = new HangingReceiver();
    await using healthy = HookSink.start();
    await using server = await CliServer.start([
      "--port=0",
      "--host=127.0.0.1",
      "--loop",
      "testdata/h264_aac.mkv",
      `--webhook=${dead}`,
      `--webhook=${hanging.url}`,
      `--webhook=${healthy.url}`,
      `--webhook-queue=${QUEUE}`,
    ]);
    const counts = new Array<number>(VIEWERS).fill(0);
    const controllers: AbortController[] = [];
    const readers = Array.from({ length: VIEWERS }, async (_, i) => {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(server.url("/stream"), { signal: controller.signal });
      try {
        for await (const chunk of response.body!) counts[i] += chunk.length;
      } catch { /* aborted at the end */ }
    });
    const status = async () => (await (await fetch(server.url("/status"))).json());
    assert(
      await until(async () => (await status()).mounts[0].viewers === VIEWERS, 20_000),
      "every viewer joined",
    );
    const before = { bytesIn: (await status()).mounts[0].bytesIn, counts: [...counts] };
    await sleep(WINDOW_MS);
    const after = await status();
    const sourceBytes = after.mounts[0].bytesIn - before.bytesIn;
    assertGreater(sourceBytes, 100_000); // the 218 kbit/s fixture: about 27 kB/s
    const slowest = Math.min(...counts.map((n, i) => n - before.counts[i]));
    assertGreater(
      slowest,
      FULL_RATE * sourceBytes,
      `the slowest viewer got ${slowest} bytes while the source sent ${sourceBytes}`,
    );
    // The healthy receiver has every event so far (a publish and 100 plays), in order.
    assert(await until(() => healthy.events().length === VIEWERS + 1, 5000));
    assertEquals(after.webhooks.map((h: { state: string }) => h.state), [
      "failing",
      "failing",
      "ok",
    ]);
    // The viewers leave: 100 more events, more than the bad receivers' queues hold.
    for (const c of controllers) c.abort();
    await Promise.all(readers);
    const events = 2 * VIEWERS + 1;
    assert(await until(() => healthy.events().length === events, 10_000), "the stops");
    assertEquals(healthy.events().map((e) => e.seq), [...Array(events).keys()].map((i) => i + 1));
    assert(await until(async () => (await status()).mounts[0].viewers === 0, 5000));
    // The bad receivers' queues stayed bounded, and their drops are counted.
    const metrics = await (await fetch(server.url("/metrics"))).text();
    for (const url of [dead, hanging.url]) {
      assertLessOrEqual(metric(metrics, "mkserver_webhook_queued", url), QUEUE + 1);
      assertGreater(metric(metrics, "mkserver_webhook_dropped_total", url), events - QUEUE - 2);
      assertEquals(metric(metrics, "mkserver_webhook_delivered_total", url), 0);
      assertEquals(metric(metrics, "mkserver_webhook_up", url), 0);
    }
    assertEquals(metric(metrics, "mkserver_webhook_dropped_total", healthy.url), 0);
    assertEquals(metric(metrics, "mkserver_webhook_delivered_total", healthy.url), events);
    for (const url of [dead, hanging.url]) {
      const lines = server.lines.filter((l) => l.includes(`Webhook ${url}`));
      assertEquals(lines.length, 2, lines.join("\n"));
      assertEquals(lines.filter((l) => / failed: .*retrying with backoff/.test(l)).length, 1);
      assertEquals(lines.filter((l) => /: dropping events \(/.test(l)).length, 1);
    }
    assertEquals(server.lines.filter((l) => l.includes(`Webhook ${healthy.url}`)), []);
    server.kill("SIGTERM");
    // A failing receiver is not waited for at the end: the server exits at once.
    const stopping = performance.now();
    assertEquals(await server.exit(20_000), 0);
    assertLess(performance.now() - stopping, 4000); // the flush would take 5 s
    // At the end, what still waited for the bad receivers is dropped with one line each.
    for (const url of [dead, hanging.url]) {
      assertEquals(
        server.lines.filter((l) => l.includes(`Webhook ${url}: `) && /not delivered/.test(l))
          .length,
        1,
      );
    }
    await hanging.close();
  },
});
