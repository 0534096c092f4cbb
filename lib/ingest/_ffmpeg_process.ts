/**
 * The process side of `openFfmpegSource`: one `ffmpeg` child remuxing to Matroska on its
 * standard output, and what it says on its error output.
 *
 * @module
 */

import type { Logger } from "../log.ts";

/**
 * What ffmpeg says when it cannot copy AAC without an AudioSpecificConfig (ADTS, as carried by
 * MPEG-TS, HLS and raw `.aac`) into Matroska written to a pipe: the muxer needs CodecPrivate in
 * the header and can only patch it in later by seeking back, which a pipe cannot do.
 */
const AAC_WITHOUT_CONFIG = "Error parsing AAC extradata";

/** How many of ffmpeg's last error lines go into the error message. */
const ERROR_LINES = 3;

/** Options of `FfmpegProcess`. */
export interface FfmpegProcessOptions {
  /** The ffmpeg executable (default `"ffmpeg"`, found on PATH). */
  ffmpegPath?: string;
  /** Options placed before `-i`. */
  inputArgs?: readonly string[];
  /** Re-encode the audio to AAC instead of copying it. */
  reencodeAudio: boolean;
  /** Where ffmpeg's error lines go. */
  log: Logger;
}

/**
 * One run of `ffmpeg -i INPUT -c copy -f matroska -`. `input` is what ffmpeg opens itself, or
 * undefined for its standard input (`pipe:0`, then written to through `stdin`).
 *
 * Until `outputStarted()`, what ffmpeg says may be why it fails: its lines then go into the one
 * error (`failure`) and are logged at debug level only, and are logged as warnings if the output
 * does start. After, each line is a warning of its own.
 */
export class FfmpegProcess {
  /** ffmpeg's standard output: the Matroska stream. */
  readonly stdout: ReadableStreamDefaultReader<Uint8Array>;
  /** Resolves when ffmpeg has exited and its error output is read. */
  readonly exited: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #log: Logger;
  /** ffmpeg's error lines, the last few. */
  #lines: string[] = [];
  /** Error lines said before its output started, not logged yet; undefined once it has. */
  #pending: string[] | undefined = [];
  #aacWithoutConfig = false;

  /** Spawns ffmpeg. @throws {Deno.errors.NotFound} when the executable does not exist */
  constructor(input: string | undefined, options: FfmpegProcessOptions) {
    this.#log = options.log;
    this.#child = new Deno.Command(options.ffmpegPath ?? "ffmpeg", {
      args: ffmpegArgs(input, options),
      stdin: input === undefined ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = this.#child.stdout.getReader();
    const stderrDone = readLines(this.#child.stderr, (line) => this.#onLine(line));
    this.exited = Promise.all([this.#child.status, stderrDone]).then(([s]) => s);
  }

  /** ffmpeg's standard input; only when it was spawned without an `input` of its own. */
  get stdin(): WritableStream<Uint8Array> {
    return this.#child.stdin;
  }

  /** Whether ffmpeg said it cannot copy AAC without its configuration (`AAC_WITHOUT_CONFIG`). */
  get aacWithoutConfig(): boolean {
    return this.#aacWithoutConfig;
  }

  /** The output has started (or is let through): the lines held back are logged as warnings. */
  outputStarted(): void {
    for (const line of this.#pending?.splice(0) ?? []) this.#log.warn(`ffmpeg: ${line}`);
    this.#pending = undefined;
  }

  /** Kills ffmpeg, if it still runs: nothing to save, the output is being discarded. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  /** The error for a failed run: how ffmpeg ended, and its last lines. */
  failure(status: Deno.CommandStatus): Error {
    const how = status.signal !== null
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    const said = this.#lines.length ? `: ${this.#lines.join("; ")}` : "";
    return new Error(`ffmpeg ${how}${said}`);
  }

  #onLine(line: string): void {
    if (this.#pending === undefined) this.#log.warn(`ffmpeg: ${line}`);
    else {
      this.#log.debug(`ffmpeg: ${line}`);
      this.#pending.push(line);
    }
    if (line.includes(AAC_WITHOUT_CONFIG)) this.#aacWithoutConfig = true;
    this.#lines.push(line.replace(/ @ 0x[0-9a-f]+\]/, "]"));
    if (this.#lines.length > ERROR_LINES) this.#lines.shift();
  }
}

/** ffmpeg's arguments: `input` (or its standard input) copied to Matroska on its standard output. */
function ffmpegArgs(input: string | undefined, options: FfmpegProcessOptions): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    // Without -nostdin, ffmpeg reads keyboard commands from the standard input it inherits.
    ...(input === undefined ? [] : ["-nostdin"]),
    ...(options.inputArgs ?? []),
    "-i",
    input ?? "pipe:0",
    "-sn",
    "-dn",
    "-c",
    "copy",
    ...(options.reencodeAudio ? ["-c:a", "aac", "-b:a", "192k"] : []),
    "-f",
    "matroska",
    "pipe:1",
  ];
}

/** Calls `onLine` for each non-empty line of `stream`, which it reads to the end. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  const say = (line: string) => {
    line = line.trimEnd();
    if (line !== "") onLine(line);
  };
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split(/\r?\n|\r/);
      rest = lines.pop()!;
      lines.forEach(say);
    }
  } catch {
    // the pipe broke with the process: what was read is enough
  }
  say(rest);
}
