/**
 * Which segmented forms a mount's tracks allow: HLS with CMAF, DASH with WebM or CMAF segments.
 *
 * @module
 */

import type { TrackInfo } from "../matroska/live_header.ts";
import { hasMp4Form } from "../mp4/sample_entry.ts";

/** Codecs that WebM carries (the WebM container guidelines), served as WebM DASH. */
const WEBM_CODECS = new Set(["V_VP8", "V_VP9", "V_AV1", "A_OPUS", "A_VORBIS"]);

/** How the mount is offered in segments, and why not when it is not. */
export interface SegmentForms {
  /** HLS with CMAF (fMP4) segments: every track has an ISO BMFF form. */
  hls: boolean;
  /** DASH: WebM segments when every track is a WebM codec, else CMAF when HLS is possible. */
  dash: "webm" | "cmaf" | undefined;
  /** The tracks whose codec has no ISO BMFF form (for the 404 body). */
  noMp4: string[];
}

/** What a mount's tracks allow. */
export function segmentForms(tracks: readonly TrackInfo[]): SegmentForms {
  const media = tracks.filter((t) => t.kind === "video" || t.kind === "audio");
  const noMp4 = media.filter((t) => !hasMp4Form(t.codecId)).map((t) => t.codecId);
  const hls = media.length > 0 && noMp4.length === 0;
  const webm = media.length > 0 && media.every((t) => WEBM_CODECS.has(t.codecId));
  return { hls, dash: webm ? "webm" : hls ? "cmaf" : undefined, noMp4 };
}
