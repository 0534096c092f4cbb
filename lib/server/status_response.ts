/**
 * The `/status` (JSON) and `/metrics` (Prometheus text) responses: every mount's figures, with
 * the stall evictions the server counted for it.
 *
 * @module
 */

import type { Mount } from "../stream/mount.ts";
import type { EvictionCounts } from "./eviction_counts.ts";
import { renderMetrics, type Sample } from "./metrics.ts";
import type { PackagerTable } from "./packagers.ts";
import type { RecorderTable, RecordingStatus } from "../record/recorder_table.ts";
import type { SegmentCounters } from "./segments.ts";
import type { Webhooks } from "./webhooks/webhooks.ts";
import type { ViewerLatency } from "./viewer_latency.ts";

/** Memory of the whole process, in bytes (`Deno.memoryUsage()`), and its uptime. */
export interface ProcessStatus {
  /** Resident set size. */
  rss: number;
  /** V8 heap in use and reserved. */
  heapUsed: number;
  heapTotal: number;
  /** Memory outside the V8 heap held by JS objects (ArrayBuffers). */
  external: number;
  uptimeSeconds: number;
}

const STARTED = performance.now();

function processStatus(): ProcessStatus {
  const { rss, heapUsed, heapTotal, external } = Deno.memoryUsage();
  const uptimeSeconds = Math.round((performance.now() - STARTED) / 100) / 10;
  return { rss, heapUsed, heapTotal, external, uptimeSeconds };
}

/** Options of the status responses. */
export interface StatusResponseOptions {
  /** Answering HEAD: the headers only. */
  head?: boolean;
  /** The mounts' packagers: each mount's `segments` (forms offered, bytes held). */
  packagers?: PackagerTable;
  /** The mounts' recorders: each mount's `recording` (state, file, bytes, errors). */
  recorders?: RecorderTable;
  /** Segmented requests served, for `/metrics`. */
  counters?: SegmentCounters;
  /** The webhook receivers: their queues, deliveries and drops (`webhooks` in `/status`). */
  webhooks?: Webhooks;
  /** Viewers' latency reports, for `/metrics`. */
  viewerLatency?: ViewerLatency;
}

/** What `/status` shows of a mount's segments. */
export interface SegmentStatus {
  hls: boolean;
  dash: "webm" | "cmaf" | undefined;
  /** Bytes of segments and parts held (every track and format). */
  bytes: number;
  /** The incarnation's id in every object URL. */
  epoch: string;
}

function segmentStatus(
  packagers: PackagerTable | undefined,
  name: string,
): SegmentStatus | undefined {
  const p = packagers?.get(name);
  if (!p?.header) return undefined;
  return { hls: p.forms.hls, dash: p.forms.dash, bytes: p.byteLength, epoch: p.epoch };
}

/**
 * `GET /status`: `{ mounts, process }` as JSON, each mount's `status()` with its evictions, and
 * `webhooks` (each receiver's state and counts) when there are receivers.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Mount } from "../stream/mount.ts";
 * import { EvictionCounts } from "./eviction_counts.ts";
 * import { statusResponse } from "./status_response.ts";
 * const evictions = new EvictionCounts();
 * evictions.count("stream");
 * const json = await statusResponse([new Mount("stream")], evictions).json();
 * assertEquals(json.mounts[0].evictions, 1);
 * ```
 */
export function statusResponse(
  mounts: readonly Mount[],
  evictions: EvictionCounts,
  options: StatusResponseOptions = {},
): Response {
  const body = JSON.stringify(
    {
      mounts: mounts.map((m) => ({
        ...evictions.statusOf(m),
        segments: segmentStatus(options.packagers, m.name),
        recording: options.recorders?.status(m.name),
      })),
      process: processStatus(),
      webhooks: options.webhooks?.status(),
    },
    null,
    2,
  );
  return new Response(options.head ? null : body, {
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      "access-control-allow-origin": "*",
    },
  });
}

/** `GET /metrics`: every mount's counters in the Prometheus text format (`renderMetrics`). */
export function metricsResponse(
  mounts: readonly Mount[],
  evictions: EvictionCounts,
  options: StatusResponseOptions = {},
): Response {
  const extra: Sample[] = [];
  const bytes = {
    name: "mkserver_segment_bytes",
    type: "gauge" as const,
    help: "Bytes of HLS/DASH segments and parts held.",
  };
  for (const m of mounts) {
    const p = options.packagers?.get(m.name);
    if (p) extra.push({ metric: bytes, labels: { mount: m.name }, value: p.byteLength });
  }
  const requests = {
    name: "mkserver_segment_requests_total",
    type: "counter" as const,
    help: "Segmented requests served, by kind (playlist, manifest, init, segment, part).",
  };
  for (const [kind, value] of Object.entries(options.counters ?? {})) {
    extra.push({ metric: requests, labels: { kind }, value });
  }
  for (const m of mounts) {
    const r = options.recorders?.status(m.name);
    if (r) extra.push(...recordingSamples(m.name, r));
  }
  extra.push(...options.webhooks?.samples() ?? []);
  const body = renderMetrics(mounts.map((m) => evictions.statusOf(m, 0)), extra) +
    (options.viewerLatency?.render(mounts.map((m) => m.name)) ?? "");
  return new Response(options.head ? null : body, {
    headers: {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

const RECORDING_METRICS = [
  {
    name: "mkserver_record_up",
    type: "gauge" as const,
    help: "1 while the mount is being recorded, 0 while recording fails or waits.",
    value: (r: RecordingStatus) => r.state === "recording" ? 1 : 0,
  },
  {
    name: "mkserver_record_bytes_total",
    type: "counter" as const,
    help: "Bytes of recordings written to disk.",
    value: (r: RecordingStatus) => r.bytes,
  },
  {
    name: "mkserver_record_files_total",
    type: "counter" as const,
    help: "Recorded files finished.",
    value: (r: RecordingStatus) => r.files,
  },
  {
    name: "mkserver_record_errors_total",
    type: "counter" as const,
    help: "Disk failures of the recording (each stops a file; recording retries).",
    value: (r: RecordingStatus) => r.errors,
  },
];

function recordingSamples(mount: string, status: RecordingStatus): Sample[] {
  return RECORDING_METRICS.map(({ value, ...metric }) => ({
    metric,
    labels: { mount },
    value: value(status),
  }));
}
