/**
 * Live DASH manifests (ISO/IEC 23009-1, `type="dynamic"`) rendered from a snapshot of a packager's
 * segments: one AdaptationSet per track, `SegmentTemplate` with `$Number$` and a
 * `SegmentTimeline`, one Period per source run, `UTCTiming`. Pure.
 *
 * @module
 */

/** One segment on a Representation's timeline, in its timescale. */
export interface TimelineEntry {
  t: number;
  d: number;
}

/** One track of a Period. */
export interface DashRepresentation {
  /** Stable across Periods (`v1`, `a2`), so period-connected Periods match up. */
  id: string;
  contentType: "video" | "audio";
  /** `video/mp4`, `audio/mp4`, `video/webm` or `audio/webm`. */
  mimeType: string;
  codecs: string;
  bandwidth: number;
  width?: number;
  height?: number;
  frameRate?: number;
  audioSamplingRate?: number;
  channels?: number;
  language?: string;
  timescale: number;
  /** Media time (timescale units) at the Period's start. */
  presentationTimeOffset: number;
  /** `$Number$` of the first timeline entry. */
  startNumber: number;
  /** URIs relative to the MPD. */
  initialization: string;
  /** With `$Number$`. */
  media: string;
  /** Complete segments only, oldest first, contiguous numbers from `startNumber`. */
  timeline: readonly TimelineEntry[];
}

/** One source run with one wall-clock anchor. */
export interface DashPeriod {
  id: string;
  /** Wall-clock seconds since the Unix epoch (the MPD's availabilityStartTime is 1970). */
  start: number;
  /** The previous Period's id when this one continues it with the same inits (§5.3.2.4). */
  connectedTo?: string;
  /** The segments start with SAP type 1 (no long GOP was split). */
  startWithSap: boolean;
  representations: readonly DashRepresentation[];
}

/** What an MPD is rendered from. */
export interface DashManifestInput {
  /** Unix milliseconds. */
  publishTime: number;
  /** Seconds. */
  minimumUpdatePeriod: number;
  timeShiftBufferDepth: number;
  maxSegmentDuration: number;
  minBufferTime: number;
  suggestedPresentationDelay: number;
  /** `isoff-live` alone for WebM (what ffmpeg writes for live WebM), plus CMAF's for fMP4. */
  profiles: string;
  /** A URL answering the wall-clock time as ISO 8601 (`urn:mpeg:dash:utc:http-iso:2014`). */
  utcTiming: string;
  periods: readonly DashPeriod[];
  /** The stream has ended: `type="static"` would change every URL's meaning, so keep dynamic. */
}

/** ISO 8601 duration in seconds with millisecond precision. */
function duration(seconds: number): string {
  return `PT${Number(seconds.toFixed(3))}S`;
}

function attr(name: string, value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value).replaceAll("&", "&amp;").replaceAll('"', "&quot;")
    .replaceAll("<", "&lt;");
  return ` ${name}="${text}"`;
}

/** Timeline entries run-length encoded as `S` elements (`r` repeats of one duration). */
export function renderTimeline(entries: readonly TimelineEntry[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < entries.length) {
    const { t, d } = entries[i];
    let r = 0;
    while (
      i + r + 1 < entries.length && entries[i + r + 1].d === d &&
      entries[i + r + 1].t === entries[i + r].t + d
    ) r++;
    const needT = i === 0 || entries[i - 1].t + entries[i - 1].d !== t;
    out.push(`<S${needT ? attr("t", t) : ""}${attr("d", d)}${r > 0 ? attr("r", r) : ""}/>`);
    i += r + 1;
  }
  return out;
}

function renderRepresentation(
  rep: DashRepresentation,
  startWithSap: boolean,
  id: number,
): string[] {
  const set = `<AdaptationSet${attr("id", id)}${attr("contentType", rep.contentType)}` +
    `${attr("mimeType", rep.mimeType)}${attr("lang", rep.language)}` +
    ` segmentAlignment="true"${startWithSap ? ' startWithSAP="1"' : ""}>`;
  const lines = [set];
  lines.push(
    `<Representation${attr("id", rep.id)}${attr("codecs", rep.codecs)}` +
      `${attr("bandwidth", Math.max(1, Math.round(rep.bandwidth)))}${attr("width", rep.width)}` +
      `${attr("height", rep.height)}${attr("frameRate", rep.frameRate)}` +
      `${attr("audioSamplingRate", rep.audioSamplingRate)}>`,
  );
  if (rep.channels) {
    lines.push(
      `<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011"${
        attr("value", rep.channels)
      }/>`,
    );
  }
  lines.push(
    `<SegmentTemplate${attr("timescale", rep.timescale)}` +
      `${attr("presentationTimeOffset", rep.presentationTimeOffset)}` +
      `${attr("startNumber", rep.startNumber)}${attr("initialization", rep.initialization)}` +
      `${attr("media", rep.media)}>`,
    "<SegmentTimeline>",
    ...renderTimeline(rep.timeline),
    "</SegmentTimeline>",
    "</SegmentTemplate>",
    "</Representation>",
    "</AdaptationSet>",
  );
  return lines;
}

/** Renders a dynamic MPD. */
export function renderDashManifest(input: DashManifestInput): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic"' +
    `${attr("profiles", input.profiles)}` +
    // A fixed availabilityStartTime with each Period's start carrying the wall clock keeps AST the
    // same across every update (a changing AST makes players re-anchor).
    ' availabilityStartTime="1970-01-01T00:00:00Z"' +
    `${attr("publishTime", new Date(input.publishTime).toISOString())}` +
    `${attr("minimumUpdatePeriod", duration(input.minimumUpdatePeriod))}` +
    `${attr("timeShiftBufferDepth", duration(input.timeShiftBufferDepth))}` +
    `${attr("maxSegmentDuration", duration(input.maxSegmentDuration))}` +
    `${attr("minBufferTime", duration(input.minBufferTime))}` +
    `${attr("suggestedPresentationDelay", duration(input.suggestedPresentationDelay))}>`,
  ];
  for (const period of input.periods) {
    lines.push(`<Period${attr("id", period.id)}${attr("start", duration(period.start))}>`);
    period.representations.forEach((rep, i) => {
      const set = renderRepresentation(rep, period.startWithSap, i + 1);
      if (period.connectedTo) {
        set.splice(
          1,
          0,
          '<SupplementalProperty schemeIdUri="urn:mpeg:dash:period-connectivity:2015"' +
            `${attr("value", period.connectedTo)}/>`,
        );
      }
      lines.push(...set);
    });
    lines.push("</Period>");
  }
  lines.push(
    `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014"${attr("value", input.utcTiming)}/>`,
    "</MPD>",
  );
  return lines.join("\n") + "\n";
}
