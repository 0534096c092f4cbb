/**
 * A packager seen through HLS and DASH: the playlists and manifests of a mount, and the object a
 * segment URL names. URLs are relative (`/live/NAME/` is the base), so they stay valid behind
 * any path prefix; every object lives under `e/EPOCH/`, whose bytes never change.
 *
 * @module
 */

import type { TrackInfo } from "../matroska/live_header.ts";
import { type BlockingRefusal, type BlockingRequest, blockingState } from "./blocking_reload.ts";
import { type DashRepresentation, renderDashManifest } from "./dash_manifest.ts";
import {
  lastPart,
  type PlaylistSegment,
  renderMediaPlaylist,
  renderMultivariantPlaylist,
  type Rendition,
} from "./hls_playlist.ts";
import type { Packager } from "./packager.ts";
import type { TrackPackager } from "./track_packager.ts";
import { partBytes, segmentBytes, type StoredSegment, type TrackStore } from "./track_store.ts";

/** A track's id in URLs: `v` or `a` and its Matroska track number (`v1`, `a2`). */
export function trackId(track: TrackInfo): string {
  return `${track.kind === "video" ? "v" : "a"}${track.number}`;
}

function byId(packager: Packager, id: string): TrackPackager | undefined {
  for (const track of packager.tracks.values()) if (trackId(track.track) === id) return track;
  return undefined;
}

function seconds(store: TrackStore, value: number): number {
  return value / store.timescale;
}

function segmentDuration(segment: StoredSegment): number {
  return segment.parts.reduce((n, p) => n + p.duration, 0);
}

/** Peak bits per second over the kept segments (HLS BANDWIDTH, DASH @bandwidth). */
function peakBandwidth(store: TrackStore | undefined): number {
  let peak = 0;
  for (const s of store?.segments ?? []) {
    const d = seconds(store as TrackStore, segmentDuration(s));
    if (s.complete && d > 0.2) peak = Math.max(peak, (s.byteLength * 8) / d);
  }
  return Math.round(peak) || 1_000_000;
}

function playlistSegments(packager: Packager, track: TrackPackager): PlaylistSegment[] {
  const store = track.cmaf as TrackStore;
  const id = trackId(track.track);
  return store.segments.map((s) => ({
    number: s.number,
    duration: seconds(store, segmentDuration(s)),
    programDateTime: s.programDateTime,
    parts: s.parts.map((p) => ({
      duration: seconds(store, p.duration),
      independent: p.independent,
    })),
    complete: s.complete,
    discontinuity: s.discontinuity,
    init: `../e/${packager.epoch}/${id}/init-${s.init}.mp4`,
  }));
}

/** The multivariant playlist, once every track has a complete segment; else `undefined`. */
export function multivariantPlaylist(packager: Packager): string | undefined {
  if (!packager.forms.hls) return undefined;
  let video: Rendition | undefined;
  const audio: Rendition[] = [];
  for (const track of packager.tracks.values()) {
    const store = track.cmaf;
    if (!store?.segments.some((s) => s.complete) || !track.codecs) return undefined;
    const rendition: Rendition = {
      uri: `hls/${trackId(track.track)}.m3u8`,
      codecs: track.codecs,
      bandwidth: peakBandwidth(store),
      width: track.track.width,
      height: track.track.height,
      channels: track.track.channels,
      name: `${track.track.kind} ${track.track.number}`,
    };
    if (track.track.kind === "video" && !video) video = rendition;
    else if (track.track.kind === "audio") audio.push(rendition);
  }
  return renderMultivariantPlaylist({ video, audio, independentSegments: !packager.split });
}

/** A media playlist's segments (for blocking), or `undefined` for an unknown rendition. */
export function renditionSegments(packager: Packager, id: string): PlaylistSegment[] | undefined {
  const track = byId(packager, id);
  return track?.cmaf ? playlistSegments(packager, track) : undefined;
}

/** Whether a blocking reload of rendition `id` can be answered: see `blockingState`. */
export function renditionReady(
  packager: Packager,
  id: string,
  request: BlockingRequest,
): "ready" | "wait" | BlockingRefusal {
  const segments = renditionSegments(packager, id) ?? [];
  return blockingState(segments, request, packager.partTarget);
}

/** The LL-HLS media playlist of rendition `id`, or `undefined` while it has no segment. */
export function mediaPlaylist(packager: Packager, id: string): string | undefined {
  const track = byId(packager, id);
  const target = packager.targetDuration;
  if (!track?.cmaf || target === undefined) return undefined;
  const segments = playlistSegments(packager, track);
  if (!segments.some((s) => s.complete)) return undefined;
  const reports = [];
  for (const other of packager.tracks.values()) {
    if (other === track || !other.cmaf) continue;
    const last = lastPart(playlistSegments(packager, other));
    if (last) {
      reports.push({ uri: `${trackId(other.track)}.m3u8`, lastMsn: last.msn, lastPart: last.part });
    }
  }
  return renderMediaPlaylist({
    targetDuration: target,
    partTarget: packager.partTarget,
    // Grown as discontinuities leave the window (§6.2.2). It starts at 0, not seeded from the
    // clock like the segment numbers: hls.js walks its per-discontinuity table from index 0 on
    // every playlist load (a 1.8e9 start froze Chromium's main thread for 30 s a load).
    discontinuitySequence: track.cmaf.droppedDiscontinuities,
    segments,
    uri: (n, p) =>
      `../e/${packager.epoch}/${trackId(track.track)}/${n}${p === undefined ? "" : `.${p}`}.m4s`,
    renditionReports: reports,
    ended: track.cmaf.ended,
  });
}

function webmCodecs(track: TrackPackager): string {
  const id = track.track.codecId;
  if (id === "V_VP8") return "vp8";
  if (id === "A_OPUS") return "opus";
  if (id === "A_VORBIS") return "vorbis";
  return track.codecs ?? (id === "V_VP9" ? "vp9" : "av01");
}

/** The dynamic MPD, once a segment is complete; else `undefined`. */
export function dashManifest(packager: Packager, now: number): string | undefined {
  const format = packager.forms.dash;
  const target = packager.targetDuration;
  if (!format || target === undefined) return undefined;
  // Offered once every track has a segment: a player that saw a video-only MPD would play
  // without sound.
  for (const track of packager.tracks.values()) {
    const store = format === "webm" ? track.webm : track.cmaf;
    if (!store?.segments.some((s) => s.complete)) return undefined;
  }
  const ext = format === "webm" ? "webm" : "mp4";
  const periods = packager.periods.map((period, index) => {
    const representations: DashRepresentation[] = [];
    for (const track of packager.tracks.values()) {
      const store = format === "webm" ? track.webm : track.cmaf;
      const segments = store?.segments.filter((s) => s.period === index && s.complete) ?? [];
      const pto = store?.periodStart(index);
      if (!store || segments.length === 0 || pto === undefined) continue;
      const id = trackId(track.track);
      const kind = track.track.kind === "video" ? "video" : "audio";
      representations.push({
        id,
        contentType: kind,
        mimeType: `${kind}/${ext}`,
        codecs: format === "webm" ? webmCodecs(track) : track.codecs ?? "",
        bandwidth: peakBandwidth(store),
        width: track.track.width,
        height: track.track.height,
        audioSamplingRate: kind === "audio" ? track.track.sampleRate : undefined,
        channels: kind === "audio" ? track.track.channels : undefined,
        timescale: store.timescale,
        presentationTimeOffset: pto,
        startNumber: segments[0].number,
        initialization: `e/${packager.epoch}/${id}/init-${segments[0].init}.${ext}`,
        media: `e/${packager.epoch}/${id}/$Number$.${format === "webm" ? "webm" : "m4s"}`,
        timeline: segments.map((s) => ({ t: s.start, d: segmentDuration(s) })),
      });
    }
    return {
      id: period.id,
      start: period.start,
      connectedTo: period.connected && index > 0 ? packager.periods[index - 1].id : undefined,
      startWithSap: !packager.split,
      representations,
    };
  }).filter((p) => p.representations.length > 0);
  if (periods.length === 0) return undefined;
  return renderDashManifest({
    publishTime: now,
    minimumUpdatePeriod: Math.min(2, target),
    timeShiftBufferDepth: packager.keepSeconds,
    maxSegmentDuration: target,
    minBufferTime: target,
    suggestedPresentationDelay: target + 1,
    profiles: format === "webm"
      ? "urn:mpeg:dash:profile:isoff-live:2011"
      : "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019",
    utcTiming: "../../time",
    periods,
  });
}

/** What an object URL (`e/EPOCH/ID/FILE`) names. */
export type ObjectLookup =
  | { found: Uint8Array; type: string }
  | { pending: TrackStore }
  | { missing: string };

const OBJECT = /^(init-([0-9]{1,6})\.(mp4|webm)|([0-9]{1,15})(?:\.([0-9]{1,4}))?\.(m4s|webm))$/;

/** Finds an init, segment or part; the next part or segment is `pending` (a request may wait). */
export function lookupObject(
  packager: Packager,
  epoch: string,
  id: string,
  file: string,
): ObjectLookup {
  if (epoch !== packager.epoch) {
    return { missing: "This stream has restarted since: reload the playlist" };
  }
  const track = byId(packager, id);
  const match = OBJECT.exec(file);
  if (!track || !match) return { missing: "No such object" };
  const webm = match[3] === "webm" || match[6] === "webm";
  const store = webm ? track.webm : track.cmaf;
  if (!store) return { missing: "Not offered in this format" };
  const kind = track.track.kind === "video" ? "video" : "audio";
  const type = webm ? `${kind}/webm` : `${kind}/mp4`;
  if (match[2] !== undefined) {
    const init = store.init(Number(match[2]));
    return init ? { found: init, type } : { missing: "No such init" };
  }
  const number = Number(match[4]);
  const part = match[5] === undefined ? undefined : Number(match[5]);
  const segment = store.segment(number);
  const newest = store.segments[store.segments.length - 1];
  if (segment && part === undefined && segment.complete) {
    return { found: segmentBytes(segment), type };
  }
  if (segment && part !== undefined && part < segment.parts.length) {
    return { found: partBytes(segment, segment.parts[part]), type };
  }
  if (store.ended) return { missing: "The stream has ended" };
  // The segment in progress, its next part, or (at a segment's end) the next segment's first.
  const next = !newest || number === newest.number ||
    (number === newest.number + 1 && (part ?? 0) === 0);
  return next
    ? { pending: store }
    : { missing: number < (store.segments[0]?.number ?? 0) ? "Expired" : "Not yet available" };
}
