/**
 * HLS playlists rendered from a snapshot of a packager's segments: the multivariant playlist and
 * Low-Latency HLS media playlists (draft-pantos-hls-rfc8216bis, the second edition of RFC 8216),
 * with parts, one preload hint, blocking reload and rendition reports. Pure: the caller owns the
 * store, the clock and the waiting.
 *
 * @module
 */

/** One part of a segment (§4.4.4.9 EXT-X-PART). */
export interface PlaylistPart {
  /** Seconds. */
  duration: number;
  /** Whether it starts with an independent frame (a keyframe of the video track). */
  independent: boolean;
}

/** One segment as a media playlist lists it. */
export interface PlaylistSegment {
  /** Media Sequence Number: one counter per mount, shared by every rendition. */
  number: number;
  /** Seconds; for a segment in progress, the sum of its parts so far. */
  duration: number;
  /** Wall-clock time of its first sample, Unix milliseconds (§4.4.4.6 EXT-X-PROGRAM-DATE-TIME). */
  programDateTime: number;
  parts: PlaylistPart[];
  /** False for the segment still being cut (only the last one may be). */
  complete: boolean;
  /** It follows a discontinuity (new source timeline or a new init): EXT-X-DISCONTINUITY. */
  discontinuity: boolean;
  /** The init segment's URI in force for it (EXT-X-MAP). */
  init: string;
  /** No media: the source was away (§4.4.4.7 EXT-X-GAP); it has no parts. */
  gap?: boolean;
}

/** Another rendition's newest part, for EXT-X-RENDITION-REPORT (§4.4.5.4). */
export interface RenditionReport {
  uri: string;
  lastMsn: number;
  lastPart: number;
}

/** What a media playlist is rendered from. */
export interface MediaPlaylistInput {
  /** EXT-X-TARGETDURATION in whole seconds; fixed for the life of the playlist (§6.2.1). */
  targetDuration: number;
  /** PART-TARGET in seconds. */
  partTarget: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE of the first listed segment. */
  discontinuitySequence: number;
  /** Oldest first; the last may be in progress. */
  segments: readonly PlaylistSegment[];
  /** The URI of a segment, or of one of its parts, relative to the playlist. */
  uri(segment: number, part?: number): string;
  renditionReports?: readonly RenditionReport[];
  /** Parts are listed for the segments that end within this many seconds of the live edge. */
  partWindow?: number;
  /** The stream has ended: EXT-X-ENDLIST, no preload hint. */
  ended?: boolean;
}

/** Seconds with three decimals, as every duration in these playlists is written. */
function seconds(value: number): string {
  return value.toFixed(3);
}

/** The newest part listed: its segment's MSN and its index (for reports and blocking). */
export function lastPart(
  segments: readonly PlaylistSegment[],
): { msn: number; part: number } | undefined {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i];
    if (segment.parts.length > 0) return { msn: segment.number, part: segment.parts.length - 1 };
  }
  return undefined;
}

/** The part a client should request next (§4.4.5.3 EXT-X-PRELOAD-HINT). */
function nextPart(segments: readonly PlaylistSegment[]): { msn: number; part: number } {
  const newest = segments[segments.length - 1];
  return newest.complete
    ? { msn: newest.number + 1, part: 0 }
    : { msn: newest.number, part: newest.parts.length };
}

/** Renders a Low-Latency HLS media playlist. */
export function renderMediaPlaylist(input: MediaPlaylistInput): string {
  const { segments, partTarget, targetDuration } = input;
  if (segments.length === 0) throw new RangeError("A media playlist needs at least one segment");
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:9",
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    // PART-HOLD-BACK of 3 part targets and HOLD-BACK of 3 target durations are the "SHOULD"
    // values of §4.4.3.8; less makes players stall at the edge on every late part.
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${seconds(3 * partTarget)},` +
    `HOLD-BACK=${seconds(3 * targetDuration)}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(partTarget)}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments[0].number}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${input.discontinuitySequence}`,
    `#EXT-X-MAP:URI="${segments[0].init}"`,
  ];
  const edge = segments.reduce((sum, s) => sum + s.duration, 0);
  const window = input.partWindow ?? 3 * targetDuration;
  let end = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    end += segment.duration;
    // A segment just opened has nothing to list yet (a lone PROGRAM-DATE-TIME would be read as
    // the next segment's).
    if (!segment.complete && segment.parts.length === 0) continue;
    if (i > 0 && segment.discontinuity) {
      lines.push("#EXT-X-DISCONTINUITY");
      if (segment.init !== segments[i - 1].init) lines.push(`#EXT-X-MAP:URI="${segment.init}"`);
    }
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTime).toISOString()}`);
    if (!segment.complete || edge - end <= window) {
      segment.parts.forEach((part, p) => {
        const independent = part.independent ? ",INDEPENDENT=YES" : "";
        lines.push(
          `#EXT-X-PART:DURATION=${seconds(part.duration)},URI="${
            input.uri(segment.number, p)
          }"${independent}`,
        );
      });
    }
    // A gap still names a URI (every segment has one), which clients must not load (§4.4.4.7).
    if (segment.gap) lines.push("#EXT-X-GAP");
    if (segment.complete) {
      lines.push(`#EXTINF:${seconds(segment.duration)},`, input.uri(segment.number));
    }
  }
  if (input.ended) {
    lines.push("#EXT-X-ENDLIST");
  } else {
    // Exactly one hint of TYPE=PART (§6.2.6); hls.js loops reloading without one.
    const hint = nextPart(segments);
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${input.uri(hint.msn, hint.part)}"`);
  }
  for (const report of input.renditionReports ?? []) {
    lines.push(
      `#EXT-X-RENDITION-REPORT:URI="${report.uri}",LAST-MSN=${report.lastMsn},` +
        `LAST-PART=${report.lastPart}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** A rendition of the multivariant playlist. */
export interface Rendition {
  /** The media playlist's URI, relative to the multivariant playlist. */
  uri: string;
  /** RFC 6381 codecs string of the rendition, e.g. `avc1.64001f` or `mp4a.40.2`. */
  codecs: string;
  /** Peak bits per second. */
  bandwidth: number;
  averageBandwidth?: number;
  width?: number;
  height?: number;
  frameRate?: number;
  channels?: number;
  /** Shown in players' menus. */
  name?: string;
  language?: string;
}

/** What a multivariant playlist is rendered from: one video rendition and/or audio renditions. */
export interface MultivariantInput {
  video?: Rendition;
  audio: readonly Rendition[];
  /** Every segment starts with a keyframe (no long GOP was split): EXT-X-INDEPENDENT-SEGMENTS. */
  independentSegments: boolean;
}

function quoted(value: string): string {
  return `"${value.replaceAll('"', "'")}"`;
}

/** Renders the multivariant playlist: audio as EXT-X-MEDIA renditions of the video variant. */
export function renderMultivariantPlaylist(input: MultivariantInput): string {
  const { video, audio } = input;
  if (!video && audio.length === 0) throw new RangeError("A playlist needs at least one rendition");
  const lines = ["#EXTM3U", "#EXT-X-VERSION:9"];
  if (input.independentSegments) lines.push("#EXT-X-INDEPENDENT-SEGMENTS");
  if (!video) {
    // Audio only: each audio rendition is a variant of its own.
    for (const a of audio) lines.push(streamInf(a, [a.codecs]), a.uri);
    return lines.join("\n") + "\n";
  }
  audio.forEach((a, i) => {
    const channels = a.channels ? `,CHANNELS="${a.channels}"` : "";
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME=${quoted(a.name ?? `audio ${i + 1}`)},` +
        `LANGUAGE=${quoted(a.language ?? "und")},DEFAULT=${i === 0 ? "YES" : "NO"},` +
        `AUTOSELECT=YES${channels},URI=${quoted(a.uri)}`,
    );
  });
  // CODECS lists every format in the variant, audio renditions included (§6.2.4), and BANDWIDTH
  // counts the peak of video plus the largest audio rendition.
  const audioPeak = Math.max(0, ...audio.map((a) => a.bandwidth));
  const codecs = [video.codecs, ...new Set(audio.map((a) => a.codecs))];
  lines.push(
    streamInf({ ...video, bandwidth: video.bandwidth + audioPeak }, codecs) +
      (audio.length > 0 ? ',AUDIO="aud"' : ""),
    video.uri,
  );
  return lines.join("\n") + "\n";
}

function streamInf(rendition: Rendition, codecs: string[]): string {
  let line = `#EXT-X-STREAM-INF:BANDWIDTH=${Math.max(1, Math.round(rendition.bandwidth))}`;
  if (rendition.averageBandwidth) {
    line += `,AVERAGE-BANDWIDTH=${Math.round(rendition.averageBandwidth)}`;
  }
  line += `,CODECS=${quoted(codecs.join(","))}`;
  if (rendition.width && rendition.height) {
    line += `,RESOLUTION=${rendition.width}x${rendition.height}`;
  }
  if (rendition.frameRate) line += `,FRAME-RATE=${rendition.frameRate.toFixed(3)}`;
  return line;
}
