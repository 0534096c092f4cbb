import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { createHandler, type HandlerInfo } from "../lib/server/handler.ts";
import { ViewerLatency } from "../lib/server/viewer_latency.ts";
import { liveMount } from "./_util.ts";

const FROM = { remoteAddr: { hostname: "192.0.2.7", port: 5000 } } satisfies HandlerInfo;
const ELSEWHERE = { remoteAddr: { hostname: "198.51.100.3", port: 6000 } } satisfies HandlerInfo;

function report(body: BodyInit, headers: HeadersInit = {}): Request {
  return new Request("http://x/live/stream/latency", { method: "POST", body, headers });
}

/** The status of each answer, bodies consumed. */
async function statusOf(response: Promise<Response>): Promise<number> {
  const r = await response;
  await r.body?.cancel();
  return r.status;
}

Deno.test("GET /live/NAME/edge gives the media time of the newest block, which advances", async () => {
  const live = await liveMount("sample.webm");
  try {
    const handler = createHandler(live.mount);
    const edge = async () => {
      const response = await handler(new Request("http://x/live/stream/edge"));
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("cache-control"), "no-store");
      return (await response.json()).liveTime as number;
    };
    const first = await edge();
    assertEquals(first, live.mount.status().liveTime);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const second = await edge();
    // The fixture is fed at its own pace: the edge moves with the wall clock.
    assertGreater(second - first, 0.3);
    assertEquals(await statusOf(handler(new Request("http://x/live/nope/edge"))), 404);
    assertEquals(await statusOf(handler(new Request("http://x/live/%zz/edge"))), 404);
    const post = new Request("http://x/live/stream/edge", { method: "POST", body: "x" });
    assertEquals(await statusOf(handler(post)), 405);
  } finally {
    await live.close();
  }
});

Deno.test("POST /live/NAME/latency counts a connected viewer's report in /metrics, one a second", async () => {
  const live = await liveMount("sample.webm");
  try {
    const handler = createHandler(live.mount, { viewerLatency: new ViewerLatency() });
    const stream = await handler(new Request("http://x/live/stream"), FROM);
    const viewer = stream.headers.get("x-viewer-id") ?? "";
    assertMatch(viewer, /^[1-9][0-9]*$/, "the stream names its viewer");
    const form = `viewer=${viewer}&seconds=0.8`;
    assertEquals(await statusOf(handler(report(form), ELSEWHERE)), 404, "from another address");
    const other = `viewer=${Number(viewer) + 1}&seconds=0.8`;
    assertEquals(await statusOf(handler(report(other), FROM)), 404, "a viewer that is not there");
    assertEquals(await statusOf(handler(report(form), FROM)), 204);
    const again = await handler(report(`viewer=${viewer}&seconds=2.5`), FROM);
    assertEquals([again.status, again.headers.get("retry-after")], [429, "1"]);
    await again.body?.cancel();
    const metrics = await (await handler(new Request("http://x/metrics"))).text();
    assertStringIncludes(metrics, "# TYPE mkserver_viewer_latency_seconds histogram\n");
    assertStringIncludes(
      metrics,
      'mkserver_viewer_latency_seconds_bucket{mount="stream",le="0.75"} 0\n' +
        'mkserver_viewer_latency_seconds_bucket{mount="stream",le="1"} 1\n',
    );
    assertStringIncludes(metrics, 'mkserver_viewer_latency_seconds_count{mount="stream"} 1\n');

    // Once the viewer has left, its reports are refused.
    await stream.body?.cancel();
    const deadline = Date.now() + 5000;
    while (live.mount.clients.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(live.mount.clients.size, 0);
    assertEquals(await statusOf(handler(report(form), FROM)), 404, "a viewer that left");
  } finally {
    await live.close();
  }
});

Deno.test("POST /live/NAME/latency refuses malformed, oversized and out-of-range reports", async () => {
  const live = await liveMount("sample.webm");
  try {
    const latency = new ViewerLatency({ minInterval: 0 });
    const handler = createHandler(live.mount, { viewerLatency: latency });
    const stream = await handler(new Request("http://x/live/stream"), FROM);
    const viewer = stream.headers.get("x-viewer-id");
    assert(viewer !== null);
    const bad = [
      "",
      `viewer=${viewer}`,
      "seconds=1",
      `viewer=${viewer}&seconds=-1`,
      `viewer=${viewer}&seconds=1e3`,
      `viewer=${viewer}&seconds=NaN`,
      `viewer=${viewer}&seconds=0x10`,
      `viewer=${viewer}&seconds=1.2.3`,
      `viewer=0${viewer}&seconds=1`,
      `viewer=-${viewer}&seconds=1`,
      `viewer=${viewer}&seconds=%201`,
    ];
    for (const body of bad) {
      assertEquals(await statusOf(handler(report(body), FROM)), 400, JSON.stringify(body));
    }
    assertEquals(await statusOf(handler(report(`viewer=${viewer}&seconds=3601`), FROM)), 400);
    const big = `viewer=${viewer}&seconds=1&pad=${"x".repeat(300)}`;
    assertEquals(await statusOf(handler(report(big), FROM)), 413, "announced length");
    const chunked = ReadableStream.from([new TextEncoder().encode(big)]);
    assertEquals(await statusOf(handler(report(chunked), FROM)), 413, "streamed body");
    const get = new Request("http://x/live/stream/latency");
    assertEquals(await statusOf(handler(get, FROM)), 405);
    const nowhere = new Request("http://x/live/nope/latency", {
      method: "POST",
      body: `viewer=${viewer}&seconds=1`,
    });
    assertEquals(await statusOf(handler(nowhere, FROM)), 404);
    assertEquals(latency.render(["stream"]), "", "nothing was counted");
    assertEquals(await statusOf(handler(report(`viewer=${viewer}&seconds=3600`), FROM)), 204);
    await stream.body?.cancel();
  } finally {
    await live.close();
  }
});
