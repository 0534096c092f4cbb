/**
 * What `createHandler` takes, and the types of the handler it makes.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { RecorderTable } from "../record/recorder_table.ts";
import type { AccessPolicy } from "./access/access_policy.ts";
import type { ConnInfo } from "./conn_info.ts";
import type { EvictionCounts } from "./eviction_counts.ts";
import type { PackagerTable } from "./packagers.ts";
import type { SegmentCounters } from "./segments.ts";
import type { ViewerLatency } from "./viewer_latency.ts";
import type { Webhooks } from "./webhooks/webhooks.ts";

/** Options of `createHandler`. */
export interface HandlerOptions {
  log?: Logger;
  /** How long a viewer's request waits for the source's header before a 503 (ms, default 10000). */
  readyTimeout?: number;
  /** Enables the admin API under `/admin/`, guarded by this bearer token. */
  adminToken?: string;
  /** Enables pushing sources to `/live/NAME` (PUT or POST), guarded by this token. */
  sourceToken?: string;
  /** With a `MountRegistry`: the mount served at `/stream` and `/` (default `"stream"`). */
  defaultMount?: string;
  /** Most viewers at once; more get 503 with Retry-After (default 0: no limit). */
  maxClients?: number;
  /**
   * Where the server counts stall evictions, shown per mount in `/status` and `/metrics`
   * (default: a count of its own, which stays 0).
   */
  evictions?: EvictionCounts;
  /** The mounts' packagers: HLS and DASH under `/live/NAME/` (none without it). */
  packagers?: PackagerTable;
  /** The mounts' recorders (`--record`): their state in `/status` and `/metrics`. */
  recorders?: RecorderTable;
  /** Where segmented requests are counted (for `/metrics`). */
  segmentCounters?: SegmentCounters;
  /**
   * Who may watch and publish (see `guardRequest`); it decides pushing too, `sourceToken`
   * included. Absent: viewers are not guarded, and pushing needs `sourceToken`.
   */
  access?: AccessPolicy;
  /**
   * Told of every viewer that plays, stops or is evicted (as counted in `evictions`), and shown
   * in `/status` and `/metrics`. The registry needs them too, for its sources' events.
   */
  webhooks?: Webhooks;
  /** Where viewers' latency reports are counted (default: a table of the handler's own). */
  viewerLatency?: ViewerLatency;
  /**
   * The recorder's directory (`DIR/NAME/*.mkv`): serves `/live/NAME/recordings` and lets
   * `?from=` start a viewer in them (none without it).
   */
  recordDir?: string;
}

/** The handler: a `Request` and what is known of its connection in, a `Response` out. */
export type Handler = (
  request: Request,
  info?: HandlerInfo,
) => Promise<Response>;

/** What the handler may know of the connection: any part of `ConnInfo`. */
export type HandlerInfo = Partial<ConnInfo>;
