/**
 * Which browsers play a stream's codecs in a `<video>` tag, in words for the player page. The
 * page's script embeds these functions' source, so they use nothing from outside themselves.
 *
 * @module
 */

import type { TrackInfo } from "../matroska/live_header.ts";

/** Whether a browser plays the stream: `poor` means it might, unreliably. */
export type Support = "yes" | "no" | "poor";

/** What `browserSupport` says of a stream's codecs. */
export interface BrowserSupport {
  /**
   * `webm`: Chromium and Firefox play it; `chromium`: only Chromium-based browsers do;
   * `none`: no browser does; `unknown`: no tracks known yet (the source has not started).
   */
  level: "webm" | "chromium" | "none" | "unknown";
  /** Chromium-based browsers (Chrome, Edge, Opera, Brave). */
  chromium: Support;
  firefox: Support;
  safari: Support;
  /**
   * The codecs (display names) that keep it out of the browsers one level up: for `chromium`,
   * those Firefox does not play; for `none`, those no browser plays.
   */
  blockers: string[];
  /** One sentence for the page. */
  message: string;
}

/** The part of a track `browserSupport` and the page look at. */
export type TrackCodec = Pick<TrackInfo, "kind" | "codecId">;

/**
 * The display name of a Matroska CodecID (Matroska codec mappings), e.g. `V_MPEG4/ISO/AVC` →
 * `H.264`; unknown IDs are returned as they are.
 *
 * The page's script embeds this function's source (see `playerPage`), so it must stay
 * self-contained: no references outside its own body.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { codecName } from "./browser_support.ts";
 * assertEquals(codecName("V_MPEGH/ISO/HEVC"), "HEVC");
 * ```
 */
export function codecName(codecId: string): string {
  const names: Record<string, string> = {
    "V_VP8": "VP8",
    "V_VP9": "VP9",
    "V_AV1": "AV1",
    "V_MPEG4/ISO/AVC": "H.264",
    "V_MPEGH/ISO/HEVC": "HEVC",
    "V_MPEGI/ISO/VVC": "VVC",
    "V_MPEG1": "MPEG-1",
    "V_MPEG2": "MPEG-2",
    "V_MPEG4/ISO/SP": "MPEG-4 Part 2",
    "V_MPEG4/ISO/ASP": "MPEG-4 Part 2",
    "V_MPEG4/ISO/AP": "MPEG-4 Part 2",
    "V_MPEG4/MS/V3": "MS MPEG-4 v3",
    "V_MS/VFW/FOURCC": "VfW (FourCC)",
    "V_THEORA": "Theora",
    "V_PRORES": "ProRes",
    "V_FFV1": "FFV1",
    "V_DIRAC": "Dirac",
    "V_UNCOMPRESSED": "uncompressed video",
    "A_OPUS": "Opus",
    "A_VORBIS": "Vorbis",
    "A_MPEG/L1": "MP1",
    "A_MPEG/L2": "MP2",
    "A_MPEG/L3": "MP3",
    "A_AC3": "AC-3",
    "A_EAC3": "E-AC-3",
    "A_DTS": "DTS",
    "A_TRUEHD": "TrueHD",
    "A_FLAC": "FLAC",
    "A_ALAC": "ALAC",
    "A_TTA1": "TTA",
    "A_WAVPACK4": "WavPack",
    "S_TEXT/UTF8": "SRT text",
    "S_TEXT/WEBVTT": "WebVTT",
    "S_TEXT/ASS": "ASS",
    "S_TEXT/SSA": "SSA",
    "S_HDMV/PGS": "PGS",
    "S_VOBSUB": "VobSub",
  };
  if (Object.hasOwn(names, codecId)) return names[codecId];
  // A_AAC has profile variants (A_AAC/MPEG4/LC, …) and A_PCM its byte orders.
  if (codecId.startsWith("A_AAC")) return "AAC";
  if (codecId.startsWith("A_PCM/")) return "PCM";
  if (codecId.startsWith("A_DTS")) return "DTS";
  return codecId;
}

/**
 * Which browsers play a stream with these tracks in a `<video>` element, and a sentence saying
 * so. Only audio and video tracks count (browsers ignore the others). `docType` is the EBML
 * DocType (`webm` or `matroska`); when it is `matroska`, only Chromium is counted on.
 *
 * What the browsers play (mkserver's FACTS, Browsers): Chromium plays VP8, VP9 and AV1 with Opus
 * or Vorbis in WebM and also H.264 and AAC in Matroska; Firefox plays WebM (VP8, VP9, AV1, Opus,
 * Vorbis) but not H.264 in Matroska; Safari's WebM support is poor; anything else (HEVC, MPEG-2,
 * AC-3, FLAC, …) is for mpv, ffplay or VLC.
 *
 * The page's script embeds this function's source (see `playerPage`), so it must stay
 * self-contained apart from `codecName`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { browserSupport } from "./browser_support.ts";
 * const support = browserSupport([
 *   { kind: "video", codecId: "V_MPEG4/ISO/AVC" },
 *   { kind: "audio", codecId: "A_AAC" },
 * ], "matroska");
 * assertEquals(support.level, "chromium");
 * assertEquals(support.firefox, "no");
 * ```
 */
export function browserSupport(
  tracks: readonly TrackCodec[] | undefined,
  docType?: string,
): BrowserSupport {
  const webm = ["V_VP8", "V_VP9", "V_AV1", "A_OPUS", "A_VORBIS"];
  // Chromium's FFmpeg demuxer takes Matroska too, with H.264 and AAC (proprietary-codec builds,
  // as Debian's and Google's are).
  const chromiumOnly = ["V_MPEG4/ISO/AVC", "A_AAC"];
  const media = (tracks ?? []).filter((t) => t.kind === "video" || t.kind === "audio");
  const unique = (list: string[]) => list.filter((x, i) => list.indexOf(x) === i);
  const isWebm = (id: string) => webm.includes(id);
  const isChromium = (id: string) =>
    isWebm(id) || chromiumOnly.some((c) => id === c || id.startsWith(c + "/"));
  const players = "use mpv, ffplay or VLC";
  if (tracks === undefined || tracks.length === 0) {
    return {
      level: "unknown",
      chromium: "no",
      firefox: "no",
      safari: "no",
      blockers: [],
      message: "Waiting for the source: its codecs are not known yet",
    };
  }
  if (media.length === 0) {
    return {
      level: "none",
      chromium: "no",
      firefox: "no",
      safari: "no",
      blockers: [],
      message: `No audio or video track to play in a browser: ${players}`,
    };
  }
  const ids = media.map((t) => t.codecId);
  const none = unique(ids.filter((id) => !isChromium(id)).map(codecName));
  if (none.length > 0) {
    return {
      level: "none",
      chromium: "no",
      firefox: "no",
      safari: "no",
      blockers: none,
      message: `Not playable in browsers (${none.join(", ")}): ${players}`,
    };
  }
  const notWebm = unique(ids.filter((id) => !isWebm(id)).map(codecName));
  if (notWebm.length === 0 && docType !== "matroska") {
    return {
      level: "webm",
      chromium: "yes",
      firefox: "yes",
      safari: "poor",
      blockers: [],
      message: "Playable in Chromium-based browsers (Chrome, Edge, Opera) and Firefox; " +
        `Safari's WebM support is poor: there, ${players}`,
    };
  }
  const what = notWebm.length > 0
    ? `${notWebm.join(" and ")} in Matroska`
    : "Matroska (DocType matroska)";
  return {
    level: "chromium",
    chromium: "yes",
    firefox: "no",
    safari: "no",
    blockers: notWebm,
    message: "Playable in Chromium-based browsers (Chrome, Edge, Opera) only: " +
      `Firefox and Safari do not play ${what}; there, ${players}`,
  };
}

/**
 * The MIME type a `MediaSource` `SourceBuffer` takes for a stream with these tracks, e.g.
 * `video/webm; codecs="vp8, opus"`, or `undefined` when it has no WebM byte-stream form (the W3C
 * WebM Byte Stream Format names VP8, VP9, AV1, Opus and Vorbis): then the page plays the stream
 * in a plain `<video>`. Chromium's MSE takes no H.264 or AAC in WebM or Matroska
 * (`MediaSource.isTypeSupported` is false for `video/webm; codecs="avc1…"` and for
 * `video/x-matroska`), though its `<video>` plays them; DocType `matroska` is left to the
 * `<video>` as well. Only audio and video tracks count.
 *
 * The page's script embeds this function's source (see `playerPage`), so it must stay
 * self-contained.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { mseType } from "./browser_support.ts";
 * const vp8 = { kind: "video" as const, codecId: "V_VP8" };
 * const opus = { kind: "audio" as const, codecId: "A_OPUS" };
 * assertEquals(mseType([vp8, opus], "webm"), 'video/webm; codecs="vp8, opus"');
 * assertEquals(mseType([{ kind: "video", codecId: "V_MPEG4/ISO/AVC" }], "matroska"), undefined);
 * ```
 */
export function mseType(
  tracks: readonly TrackCodec[] | undefined,
  docType?: string,
): string | undefined {
  // AV1 needs a full codecs string in MSE: main profile, level 4.0, 8-bit stands for any (the
  // decoder reads the real ones from the stream).
  const codecs: Record<string, string> = {
    "V_VP8": "vp8",
    "V_VP9": "vp9",
    "V_AV1": "av01.0.08M.08",
    "A_OPUS": "opus",
    "A_VORBIS": "vorbis",
  };
  const media = (tracks ?? []).filter((t) => t.kind === "video" || t.kind === "audio");
  if (media.length === 0 || docType === "matroska") return undefined;
  if (!media.every((t) => Object.hasOwn(codecs, t.codecId))) return undefined;
  const kind = media.some((t) => t.kind === "video") ? "video" : "audio";
  return `${kind}/webm; codecs="${media.map((t) => codecs[t.codecId]).join(", ")}"`;
}
