/**
 * Prometheus text exposition of a mount's counters (`GET /metrics`).
 *
 * @module
 */

import type { MountStatus } from "../stream/mount.ts";

/** One metric: name, type, help and its value. */
interface Metric {
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
export function renderMetrics(mounts: readonly MountStatus[]): string {
  const rows = new Map<
    string,
    { metric: Omit<Metric, "value">; samples: string[] }
  >();
  for (const status of mounts) {
    const label = `{mount="${escapeLabel(status.name)}"}`;
    const metrics: Metric[] = [
      {
        name: "mkserver_viewers",
        type: "gauge",
        help: "Viewers connected now.",
        value: status.viewers,
      },
      {
        name: "mkserver_up",
        type: "gauge",
        help: "1 while the source is live.",
        value: status.state === "live" ? 1 : 0,
      },
      {
        name: "mkserver_bytes_in_total",
        type: "counter",
        help: "Bytes received from the source.",
        value: status.bytesIn,
      },
      {
        name: "mkserver_bytes_out_total",
        type: "counter",
        help: "Bytes handed to viewers.",
        value: status.bytesOut,
      },
      {
        name: "mkserver_blocks_total",
        type: "counter",
        help: "Blocks received from the source.",
        value: status.blocks,
      },
      {
        name: "mkserver_skips_total",
        type: "counter",
        help: "Times a viewer fell behind and skipped to the newest keyframe.",
        value: status.skips,
      },
      {
        name: "mkserver_evictions_total",
        type: "counter",
        help: "Viewers disconnected because they stopped reading (--stall-timeout).",
        value: status.evictions ?? 0,
      },
      {
        name: "mkserver_bitrate_in_bits",
        type: "gauge",
        help: "Bits per second from the source, over the last 5 s.",
        value: status.bitrateIn,
      },
      {
        name: "mkserver_bitrate_out_bits",
        type: "gauge",
        help: "Bits per second to viewers, over the last 5 s.",
        value: status.bitrateOut,
      },
      {
        name: "mkserver_ring_gops",
        type: "gauge",
        help: "GOPs in the buffer.",
        value: status.ring.gops,
      },
      {
        name: "mkserver_ring_bytes",
        type: "gauge",
        help: "Bytes in the buffer.",
        value: status.ring.bytes,
      },
      {
        name: "mkserver_ring_seconds",
        type: "gauge",
        help: "Seconds of media in the buffer.",
        value: status.ring.seconds,
      },
      {
        name: "mkserver_ring_pinned_bytes",
        type: "gauge",
        help: "Bytes of evicted GOPs still held by slow viewers.",
        value: status.ring.pinnedBytes,
      },
      {
        name: "mkserver_ring_evicted_gops_total",
        type: "counter",
        help: "GOPs evicted from the buffer.",
        value: status.ring.evictedGops,
      },
    ];
    for (const m of metrics) {
      const row = rows.get(m.name) ?? { metric: m, samples: [] };
      row.samples.push(`${m.name}${label} ${m.value}`);
      rows.set(m.name, row);
    }
  }
  let out = "";
  for (const { metric, samples } of rows.values()) {
    out += `# HELP ${metric.name} ${metric.help}\n# TYPE ${metric.name} ${metric.type}\n`;
    out += samples.join("\n") + "\n";
  }
  return out;
}
