/**
 * The text of `mkserver --help`: fixed prose around the options, which are printed from the flag
 * table (`flags.ts`) so a flag, its placeholder and its default cannot drift from what parses.
 *
 * @module
 */

import { type Flag, FLAGS, type FlagSection } from "./flags.ts";

const INTRO = `Usage: mkserver [options] [INPUT]

Serves one live Matroska/WebM stream over HTTP to many viewers. Every viewer gets the
stream header, then media starting on a video keyframe, so players can join at any time.

INPUT
  FILE                 a Matroska/WebM file, played at real-time speed (other containers,
                       e.g. MP4 or MPEG-TS, are remuxed with ffmpeg when it is installed)
  -                    standard input, taken as it arrives (the default)
  http(s)://URL        a stream pulled from another server, as it arrives; reconnects with
                       capped backoff when it drops, while viewers stay connected
  tcp://HOST:PORT      listen there for one pushed source at a time, e.g.
                       ffmpeg ... -f matroska tcp://HOST:PORT
  With --source-token (or --publish-tokens) and no INPUT, mkserver serves pushed sources only.
`;

const OUTRO = `
Endpoints
  GET /stream          the live stream (also /stream.mkv, /stream.webm); HEAD gives headers
  GET /                the stream for players; a player page for browsers (Accept: text/html)
  GET /status          JSON: tracks, viewers, bytes, GOPs in the buffer
  GET /metrics         Prometheus text: viewers, bytes in/out, skips, buffer

Signed URLs (for a server with --url-secret; 'mkserver sign --help' says more)
  mkserver sign --url-secret SECRET --expires 60s /live/NAME
                       prints /s/EXPIRY/SIG/live/NAME, valid for NAME's paths until then

Exit codes: 0 when the input ended and every viewer got it all; 1 on a runtime failure
(bad input, port in use), with one log line; 2 on bad usage.

Examples
  mkserver --port 8080 input.webm
  cat input.mkv | mkserver -
  ffmpeg -re -f lavfi -i testsrc2 -c:v libvpx -f webm - | mkserver -
`;

/** Width of the column of flag names, with its two leading spaces. */
const NAME_COLUMN = 23;

/** How `--help` writes a flag: `-q, --quiet`, `--port N`, `--no-reconnect`. */
export function flagSynopsis(flag: Flag): string {
  const short = flag.short === undefined ? "" : `-${flag.short}, `;
  if (flag.kind === "boolean") {
    return `${short}--${flag.default === true ? "no-" : ""}${flag.name}`;
  }
  return `${short}--${flag.name} ${flag.arg}`;
}

function entry(flag: Flag): string[] {
  const text = flag.help.map((line) =>
    line.replaceAll("{default}", flag.kind === "string" ? flag.default ?? "" : "")
  );
  const name = `  ${flagSynopsis(flag)}`;
  const indented = text.map((line) => " ".repeat(NAME_COLUMN) + line);
  // A name too long for its column gets a line of its own, the text under it.
  if (name.length >= NAME_COLUMN) return [name, ...indented];
  return [name.padEnd(NAME_COLUMN) + text[0], ...indented.slice(1)];
}

/** Renders `--help` from `flags` (default: mkserver's own). */
export function renderUsage(flags: readonly Flag[] = FLAGS): string {
  const sections = new Map<FlagSection, string[]>();
  for (const flag of flags) {
    const lines = sections.get(flag.section) ?? [];
    lines.push(...entry(flag));
    sections.set(flag.section, lines);
  }
  const body = [...sections].map(([title, lines]) => [title, ...lines].join("\n"));
  return `${INTRO}\n${body.join("\n\n")}\n${OUTRO}`;
}

/** The text of `mkserver --help`. */
export const USAGE: string = renderUsage();
