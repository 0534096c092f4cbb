/**
 * Prometheus text exposition of a mount's counters (`GET /metrics`).
 *
 * @module
 */

import type { MountStatus } from "../stream/mount.ts";

/** One metric: name, type, help and its value. */
export interface Metric {
  name: string;
  type: "counter" | "gauge";
  help: string;
  value: number;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

/**
 * Renders mount statuses in the Prometheus text format (version 0.0.4), one sample per mount
 * labelled `mount="NAME"`.
 *
 * @example
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { renderMetrics } from "./metrics.ts";
 * const text = renderMetrics([new Mount("stream").status()]);
 * assertStringIncludes(text, 'mkserver_viewers{mount="stream"} 0');
 * ```
 */
export function renderMetrics(
  mounts: readonly MountStatus[],
  extra: readonly Sample[] = [],
): string {
  const rows = new Map<string, { metric: Omit<Metric, "value">; samples: string[] }>();
  const add = (metric: Omit<Metric, "value">, sample: string) => {
    const row = rows.get(metric.name) ?? { metric, samples: [] };
    row.samples.push(sample);
    rows.set(metric.name, row);
  };
  for (const status of mounts) {
    const label = `{mount="${escapeLabel(status.name)}"}`;
    for (const m of MOUNT_METRICS) add(m, `${m.name}${label} ${m.value(status)}`);
  }
  for (const { metric, labels, value } of extra) {
    const label = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
    add(metric, `${metric.name}{${label}} ${value}`);
  }
  let out = "";
  for (const { metric, samples } of rows.values()) {
    out += `# HELP ${metric.name} ${metric.help}\n# TYPE ${metric.name} ${metric.type}\n`;
    out += samples.join("\n") + "\n";
  }
  return out;
}

/** A sample beyond the per-mount ones: a metric, its labels and its value. */
export interface Sample {
  metric: Omit<Metric, "value">;
  labels: Record<string, string>;
  value: number;
}

type MountMetric = Omit<Metric, "value"> & { value: (s: MountStatus) => number };

function metric(
  name: string,
  type: Metric["type"],
  help: string,
  value: (s: MountStatus) => number,
): MountMetric {
  return { name, type, help, value };
}

/** What `/metrics` shows of every mount. */
const MOUNT_METRICS: readonly MountMetric[] = [
  metric("mkserver_viewers", "gauge", "Viewers connected now.", (s) => s.viewers),
  metric("mkserver_up", "gauge", "1 while the source is live.", (s) => s.state === "live" ? 1 : 0),
  metric("mkserver_bytes_in_total", "counter", "Bytes received from the source.", (s) => s.bytesIn),
  metric("mkserver_bytes_out_total", "counter", "Bytes handed to viewers.", (s) => s.bytesOut),
  metric("mkserver_blocks_total", "counter", "Blocks received from the source.", (s) => s.blocks),
  metric(
    "mkserver_skips_total",
    "counter",
    "Times a viewer fell behind and skipped to the newest keyframe.",
    (s) => s.skips,
  ),
  metric(
    "mkserver_evictions_total",
    "counter",
    "Viewers disconnected because they stopped reading (--stall-timeout).",
    (s) => s.evictions ?? 0,
  ),
  metric(
    "mkserver_bitrate_in_bits",
    "gauge",
    "Bits per second from the source, over the last 5 s.",
    (s) => s.bitrateIn,
  ),
  metric(
    "mkserver_bitrate_out_bits",
    "gauge",
    "Bits per second to viewers, over the last 5 s.",
    (s) => s.bitrateOut,
  ),
  metric("mkserver_ring_gops", "gauge", "GOPs in the buffer.", (s) => s.ring.gops),
  metric("mkserver_ring_bytes", "gauge", "Bytes in the buffer.", (s) => s.ring.bytes),
  metric(
    "mkserver_ring_seconds",
    "gauge",
    "Seconds of media in the buffer.",
    (s) => s.ring.seconds,
  ),
  metric(
    "mkserver_ring_pinned_bytes",
    "gauge",
    "Bytes of evicted GOPs still held by slow viewers.",
    (s) => s.ring.pinnedBytes,
  ),
  metric(
    "mkserver_ring_evicted_gops_total",
    "counter",
    "GOPs evicted from the buffer.",
    (s) => s.ring.evictedGops,
  ),
];
