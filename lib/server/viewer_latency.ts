/**
 * What viewers report of their distance to the live edge ("seconds behind live", measured by the
 * player page), kept as one Prometheus histogram per mount: `mkserver_viewer_latency_seconds`.
 *
 * Reports are accepted only for viewers connected now (the handler registers each as it joins
 * and forgets it as it leaves, so memory follows the viewers), at most one per viewer every
 * `minInterval` ms.
 *
 * @module
 */

/** The histogram's upper bounds in seconds (`le`), `+Inf` implied. */
export const LATENCY_BUCKETS: readonly number[] = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

/** The largest report taken (seconds): a viewer further behind than this is not watching live. */
export const MAX_REPORTED_LATENCY = 3600;

/** One mount's histogram: counts per bucket (the last is `+Inf`), sum and count. */
class Histogram {
  readonly counts: number[] = new Array(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i < 0) i = LATENCY_BUCKETS.length;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** A registered viewer: its address (host only) and when it last reported. */
interface Reporter {
  host: string;
  last: number;
}

/** Options of `ViewerLatency`. */
export interface ViewerLatencyOptions {
  /** Least time between two reports of one viewer (ms, default 1000). */
  minInterval?: number;
}

/** Why `record` refused a report. */
export type RecordRefusal = "unknown-viewer" | "too-soon" | "out-of-range";

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Viewers' latency reports per mount, rendered as a Prometheus histogram.
 *
 * @example
 * ```ts
 * import { assertEquals, assertStringIncludes } from "@std/assert";
 * import { ViewerLatency } from "./viewer_latency.ts";
 * const latency = new ViewerLatency();
 * latency.register("stream", 1, "192.0.2.1");
 * assertEquals(latency.record("stream", 1, "192.0.2.1", 0.8, 0), undefined);
 * assertEquals(latency.record("stream", 1, "192.0.2.1", 0.8, 10), "too-soon");
 * assertStringIncludes(
 *   latency.render(["stream"]),
 *   'mkserver_viewer_latency_seconds_bucket{mount="stream",le="1"} 1',
 * );
 * ```
 */
export class ViewerLatency {
  #minInterval: number;
  #reporters = new Map<string, Reporter>();
  #histograms = new Map<string, Histogram>();

  constructor(options: ViewerLatencyOptions = {}) {
    this.#minInterval = options.minInterval ?? 1000;
  }

  /** A viewer joined `mount` from `host`: it may report from there until `forget`. */
  register(mount: string, id: number, host: string): void {
    this.#reporters.set(`${mount}\n${id}`, { host, last: -Infinity });
  }

  /** The viewer left. */
  forget(mount: string, id: number): void {
    this.#reporters.delete(`${mount}\n${id}`);
  }

  /** Viewers that may report now (connected ones). */
  get viewers(): number {
    return this.#reporters.size;
  }

  /**
   * Counts viewer `id`'s report of `seconds` behind live, sent from `host` at `now` (ms); says
   * why when it does not: the viewer is not connected to `mount` from that host, it reported
   * less than `minInterval` ago, or `seconds` is not in 0 to `MAX_REPORTED_LATENCY`.
   */
  record(
    mount: string,
    id: number,
    host: string,
    seconds: number,
    now: number = performance.now(),
  ): RecordRefusal | undefined {
    const reporter = this.#reporters.get(`${mount}\n${id}`);
    if (reporter === undefined || reporter.host !== host) return "unknown-viewer";
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_REPORTED_LATENCY) {
      return "out-of-range";
    }
    if (now - reporter.last < this.#minInterval) return "too-soon";
    reporter.last = now;
    let histogram = this.#histograms.get(mount);
    if (histogram === undefined) this.#histograms.set(mount, histogram = new Histogram());
    histogram.observe(seconds);
    return undefined;
  }

  /**
   * The histogram of every mount in `mounts` that got a report, in the Prometheus text format
   * (cumulative `_bucket` counts with `le`, `_sum`, `_count`); the histograms of mounts no
   * longer listed are dropped. Empty when no mount has one.
   */
  render(mounts: readonly string[]): string {
    const listed = new Set(mounts);
    for (const name of this.#histograms.keys()) {
      if (!listed.has(name)) this.#histograms.delete(name);
    }
    if (this.#histograms.size === 0) return "";
    const name = "mkserver_viewer_latency_seconds";
    let out = `# HELP ${name} Seconds behind the live edge, as viewers' player pages report it.\n` +
      `# TYPE ${name} histogram\n`;
    for (const [mount, h] of this.#histograms) {
      const label = `mount="${escapeLabel(mount)}"`;
      let cumulative = 0;
      h.counts.forEach((n, i) => {
        cumulative += n;
        const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : "+Inf";
        out += `${name}_bucket{${label},le="${le}"} ${cumulative}\n`;
      });
      out += `${name}_sum{${label}} ${Math.round(h.sum * 1000) / 1000}\n`;
      out += `${name}_count{${label}} ${h.count}\n`;
    }
    return out;
  }
}
