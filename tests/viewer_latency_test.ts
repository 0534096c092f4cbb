import { assertEquals, assertStringIncludes } from "@std/assert";
import { LATENCY_BUCKETS, ViewerLatency } from "../lib/server/viewer_latency.ts";

/** The `_bucket` samples of `text` for `mount`, as `le` → cumulative count. */
function buckets(text: string, mount: string): Map<string, number> {
  const out = new Map<string, number>();
  const pattern = new RegExp(
    `^mkserver_viewer_latency_seconds_bucket\\{mount="${mount}",le="([^"]+)"\\} (\\d+)$`,
    "gm",
  );
  for (const m of text.matchAll(pattern)) out.set(m[1], Number(m[2]));
  return out;
}

Deno.test("ViewerLatency renders a cumulative Prometheus histogram per mount", () => {
  const latency = new ViewerLatency({ minInterval: 0 });
  latency.register("stream", 1, "192.0.2.1");
  latency.register("cam", 2, "192.0.2.2");
  const reports = [0.1, 0.25, 0.6, 0.9, 1.2, 4, 45];
  reports.forEach((s, i) =>
    assertEquals(latency.record("stream", 1, "192.0.2.1", s, i), undefined)
  );
  assertEquals(latency.record("cam", 2, "192.0.2.2", 2.5, 0), undefined);
  const text = latency.render(["stream", "cam"]);
  assertStringIncludes(text, "# TYPE mkserver_viewer_latency_seconds histogram\n");
  assertEquals(text.match(/^# TYPE /gm)?.length, 1, "one TYPE line for both mounts");
  const stream = buckets(text, "stream");
  assertEquals([...stream.keys()], [...LATENCY_BUCKETS.map(String), "+Inf"]);
  // Each bucket counts the reports at or under its bound (`le`), the +Inf one all of them.
  for (const [le, count] of stream) {
    const bound = le === "+Inf" ? Infinity : Number(le);
    assertEquals(count, reports.filter((s) => s <= bound).length, `le=${le}`);
  }
  assertStringIncludes(text, 'mkserver_viewer_latency_seconds_count{mount="stream"} 7\n');
  assertStringIncludes(text, 'mkserver_viewer_latency_seconds_sum{mount="stream"} 52.05\n');
  assertEquals(buckets(text, "cam").get("2"), 0);
  assertEquals(buckets(text, "cam").get("3"), 1);
});

Deno.test("ViewerLatency takes reports only from a registered viewer at its own address", () => {
  const latency = new ViewerLatency();
  assertEquals(latency.record("stream", 1, "192.0.2.1", 1, 0), "unknown-viewer");
  latency.register("stream", 1, "192.0.2.1");
  assertEquals(latency.record("stream", 1, "198.51.100.9", 1, 0), "unknown-viewer");
  assertEquals(latency.record("other", 1, "192.0.2.1", 1, 0), "unknown-viewer");
  assertEquals(latency.record("stream", 1, "192.0.2.1", 1, 0), undefined);
  latency.forget("stream", 1);
  assertEquals(latency.viewers, 0);
  assertEquals(latency.record("stream", 1, "192.0.2.1", 1, 5000), "unknown-viewer");
});

Deno.test("ViewerLatency refuses a second report within minInterval and numbers out of range", () => {
  const latency = new ViewerLatency({ minInterval: 1000 });
  latency.register("stream", 1, "192.0.2.1");
  latency.register("stream", 2, "192.0.2.1");
  assertEquals(latency.record("stream", 1, "192.0.2.1", 0.5, 10_000), undefined);
  assertEquals(latency.record("stream", 1, "192.0.2.1", 0.5, 10_999), "too-soon");
  // Another viewer from the same address has its own allowance.
  assertEquals(latency.record("stream", 2, "192.0.2.1", 0.5, 10_999), undefined);
  assertEquals(latency.record("stream", 1, "192.0.2.1", 0.5, 11_000), undefined);
  for (const bad of [-0.1, 3600.5, NaN, Infinity]) {
    assertEquals(latency.record("stream", 1, "192.0.2.1", bad, 50_000), "out-of-range", `${bad}`);
  }
  // Refused reports are not counted and do not use up the allowance.
  assertEquals(latency.record("stream", 1, "192.0.2.1", 3600, 50_000), undefined);
  assertStringIncludes(latency.render(["stream"]), '_count{mount="stream"} 4\n');
});

Deno.test("ViewerLatency renders nothing without reports and drops mounts no longer listed", () => {
  const latency = new ViewerLatency();
  assertEquals(latency.render(["stream"]), "");
  latency.register("gone", 1, "192.0.2.1");
  latency.record("gone", 1, "192.0.2.1", 1, 0);
  assertStringIncludes(latency.render(["gone"]), 'mount="gone"');
  assertEquals(latency.render(["stream"]), "");
  assertEquals(latency.render(["gone"]), "", "a dropped histogram does not come back");
});
