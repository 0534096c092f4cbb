/**
 * Remuxing other containers (MP4, MPEG-TS, FLV, …) to Matroska with an `ffmpeg` child process,
 * so that anything libavformat opens can be served.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import { reasonOf } from "./_timing.ts";

/** Options of `openFfmpegSource`. */
export interface FfmpegSourceOptions {
  /** The ffmpeg executable (default `"ffmpeg"`, found on PATH). */
  ffmpegPath?: string;
  /** Options placed before `-i` (e.g. `["-f", "lavfi"]`, `["-re"]`). */
  inputArgs?: readonly string[];
  /** Where ffmpeg's error output goes, one warn line per line. */
  log?: Logger;
  /** Ends the stream (cleanly) and kills ffmpeg. */
  signal?: AbortSignal;
}

/** Options of `ffmpegAvailable`. */
export interface FfmpegAvailableOptions {
  /** The ffmpeg executable (default `"ffmpeg"`, found on PATH). */
  ffmpegPath?: string;
}

/**
 * What ffmpeg says when it cannot copy AAC without an AudioSpecificConfig (ADTS, as carried by
 * MPEG-TS, HLS and raw `.aac`) into Matroska written to a pipe: the muxer needs CodecPrivate in
 * the header and can only patch it in later by seeking back, which a pipe cannot do.
 */
const AAC_WITHOUT_CONFIG = "Error parsing AAC extradata";

/** Input bytes kept (for a stream input) in case ffmpeg must be restarted: its probe size. */
const REPLAY_LIMIT = 16 * 1024 * 1024;

/**
 * The Tracks element ID (Matroska spec). ffmpeg writes the EBML header, Segment and Info before it
 * fails on a track it cannot write; its output is held back until Tracks appears, so that a failed
 * start leaves no partial header in the stream.
 */
const TRACKS_ID = new Uint8Array([0x16, 0x54, 0xAE, 0x6B]);

/** Output held back, at most, while waiting for Tracks (then it is let through anyway). */
const HOLD_LIMIT = 1024 * 1024;

/** How many of ffmpeg's last error lines go into the error message. */
const ERROR_LINES = 3;

interface Run {
  child: Deno.ChildProcess;
  stdout: ReadableStreamDefaultReader<Uint8Array>;
  /** ffmpeg's error lines, the last few. */
  lines: string[];
  /** Error lines said before its output started, not logged yet. */
  pending: string[];
  /** Set once ffmpeg said `AAC_WITHOUT_CONFIG`. */
  aacWithoutConfig: boolean;
  /** Resolves when ffmpeg has exited and its error output is read. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Runs `ffmpeg -i INPUT -c copy -f matroska -` and returns its output: Matroska with the streams
 * ffmpeg picks by default (the best video and audio stream), payloads untouched; subtitle and
 * data streams are dropped (a live viewer has no use for them and some, like MP4's `mov_text`,
 * cannot be copied into Matroska). `input` is a path or URL that ffmpeg opens itself (not `-`),
 * or a stream fed to ffmpeg's standard input (`-i pipe:0`; an MP4 read this way needs its `moov`
 * box first, as written by `-movflags +faststart`).
 *
 * One exception to copying: AAC in ADTS form (MPEG-TS, HLS, raw `.aac`) cannot be copied into
 * Matroska written to a pipe (ffmpeg needs its configuration in the header, before the first
 * packet). When ffmpeg fails for that reason before any output, it is restarted once with the
 * audio re-encoded to AAC (`-c:a aac`), with a warning; a stream input is replayed from the start
 * (up to 16 MiB, ffmpeg's probe size, is kept until the first output byte).
 *
 * The stream errors with `ffmpeg exited with code N: …ffmpeg's last lines…` when ffmpeg fails,
 * ends when ffmpeg ends, and kills ffmpeg when cancelled (or on `signal`). The child is not killed
 * when Deno exits on its own: the caller cancels the stream on shutdown.
 *
 * @throws {Deno.errors.NotFound} when the ffmpeg executable does not exist
 *
 * @example
 * ```ts
 * import { assertEquals, assertGreater } from "@std/assert";
 * import { createLogger } from "../log.ts";
 * import { openFfmpegSource } from "./ffmpeg_source.ts";
 * // A Matroska fixture of the repository; an MP4, MPEG-TS or FLV file is remuxed the same way.
 * const input = new URL("../../testdata/h264_aac.mkv", import.meta.url).pathname;
 * const matroska = openFfmpegSource(input, { log: createLogger() });
 * const bytes = await new Response(matroska).bytes();
 * assertEquals([...bytes.subarray(0, 4)], [0x1A, 0x45, 0xDF, 0xA3]); // the EBML header's ID
 * assertGreater(bytes.length, 150_000); // the payloads, copied (the file has 164 KB)
 * ```
 */
export function openFfmpegSource(
  input: string | ReadableStream<Uint8Array>,
  options: FfmpegSourceOptions = {},
): ReadableStream<Uint8Array> {
  const log = options.log ?? SILENT;
  const piped = typeof input !== "string";
  const feeder = piped ? new Feeder(input) : undefined;

  const start = (reencodeAudio: boolean): Run => {
    const args = [
      "-hide_banner",
      "-loglevel",
      "error",
      // Without -nostdin, ffmpeg reads keyboard commands from the standard input it inherits.
      ...(piped ? [] : ["-nostdin"]),
      ...(options.inputArgs ?? []),
      "-i",
      piped ? "pipe:0" : input,
      "-sn",
      "-dn",
      "-c",
      "copy",
      ...(reencodeAudio ? ["-c:a", "aac", "-b:a", "192k"] : []),
      "-f",
      "matroska",
      "pipe:1",
    ];
    const child = new Deno.Command(options.ffmpegPath ?? "ffmpeg", {
      args,
      stdin: piped ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const run: Run = {
      child,
      stdout: child.stdout.getReader(),
      lines: [],
      pending: [],
      aacWithoutConfig: false,
      exited: child.status,
    };
    const stderrDone = readLines(child.stderr, (line) => {
      // Until ffmpeg has written its header, what it says may be why it fails: then it goes
      // into the one error, not into log lines of its own.
      if (held === undefined) log.warn(`ffmpeg: ${line}`);
      else {
        log.debug(`ffmpeg: ${line}`);
        run.pending.push(line);
      }
      if (line.includes(AAC_WITHOUT_CONFIG)) run.aacWithoutConfig = true;
      run.lines.push(line.replace(/ @ 0x[0-9a-f]+\]/, "]"));
      if (run.lines.length > ERROR_LINES) run.lines.shift();
    });
    feeder?.feed(child.stdin);
    run.exited = Promise.all([child.status, stderrDone]).then(([s]) => s);
    return run;
  };

  /** Output not yet let through (until ffmpeg has written Tracks); undefined after. */
  let held: Uint8Array[] | undefined = [];
  let run = start(false);
  let restarted = false;
  let killed = false;
  let cancelled = false;
  let pulling: Promise<void> | undefined;

  const kill = () => {
    if (killed) return;
    killed = true;
    try {
      run.child.kill("SIGKILL"); // nothing to save: the output is being discarded
    } catch {
      // already exited
    }
  };
  const onAbort = () => kill();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) kill();

  const finish = async () => {
    const status = await run.exited;
    await feeder?.stop();
    options.signal?.removeEventListener("abort", onAbort);
    return status;
  };

  async function pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await run.stdout.read();
      } catch (error) {
        kill();
        await finish();
        if (!cancelled) controller.error(error);
        return;
      }
      if (cancelled) return;
      if (!result.done) {
        if (held === undefined) return controller.enqueue(result.value);
        held.push(result.value);
        const head = concat(held);
        if (indexOf(head, TRACKS_ID) < 0 && head.length < HOLD_LIMIT) {
          held = [head];
          continue;
        }
        held = undefined;
        feeder?.commit(); // ffmpeg has written its header: no restart from here
        for (const line of run.pending.splice(0)) log.warn(`ffmpeg: ${line}`);
        return controller.enqueue(head);
      }
      const status = await run.exited;
      if (cancelled) return;
      if (
        !status.success && !killed && held !== undefined && !restarted &&
        run.aacWithoutConfig && (feeder?.canReplay ?? true)
      ) {
        restarted = true;
        held = [];
        log.warn(
          "ffmpeg cannot copy this AAC audio (ADTS, as in MPEG-TS) into streamed Matroska: " +
            "restarting it with the audio re-encoded to AAC",
        );
        run = start(true);
        continue;
      }
      await finish();
      if (status.success) {
        for (const line of run.pending.splice(0)) log.warn(`ffmpeg: ${line}`);
        // A short output without Tracks: let it be judged.
        if (held?.length) controller.enqueue(concat(held));
      }
      held = undefined;
      if (killed) return controller.close(); // ended by `signal`
      const inputError = feeder?.error;
      if (inputError !== undefined) {
        return controller.error(
          new Error(`Cannot feed ffmpeg: ${reasonOf(inputError)}`, {
            cause: inputError,
          }),
        );
      }
      if (status.success) return controller.close();
      const how = status.signal !== null
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const said = run.lines.length ? `: ${run.lines.join("; ")}` : "";
      return controller.error(new Error(`ffmpeg ${how}${said}`));
    }
  }

  return new ReadableStream<Uint8Array>({
    pull(controller) {
      pulling = pull(controller);
      return pulling;
    },
    async cancel(reason) {
      cancelled = true;
      kill();
      await run.stdout.cancel(reason).catch(() => {});
      await pulling?.catch(() => {});
      await finish();
    },
  }, { highWaterMark: 0 });
}

/**
 * Feeds one input stream to ffmpeg's standard input, and again from the start to a restarted
 * ffmpeg: until `commit()`, the chunks read are kept (up to `REPLAY_LIMIT` bytes).
 */
class Feeder {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The first chunks, kept for a replay (appended to while `#keeping`). */
  #kept: Uint8Array[] | undefined = [];
  #keptBytes = 0;
  #keeping = true;
  /** How many chunks have been read; the last one is `#last`. */
  #count = 0;
  #last: Uint8Array | undefined;
  #ended = false;
  #reading: Promise<void> | undefined;
  /** The latest `feed` call; an older one stops at its next chunk. */
  #generation = 0;
  #feeds = new Set<Promise<void>>();
  #stopped = false;
  /** The input's own failure (not ffmpeg closing its end). */
  error: unknown;

  constructor(input: ReadableStream<Uint8Array>) {
    this.#reader = input.getReader();
  }

  /** Whether a new `feed` could start from the first chunk. */
  get canReplay(): boolean {
    return this.#keeping;
  }

  /** ffmpeg has started writing: no replay will be needed. */
  commit(): void {
    this.#keeping = false;
  }

  /**
   * Writes every chunk, from the first, to `stdin`; resolves when the input ends (closing
   * `stdin`), when `stdin` fails, or when a newer `feed` takes over.
   */
  feed(stdin: WritableStream<Uint8Array>): Promise<void> {
    const done = this.#feed(stdin, ++this.#generation);
    this.#feeds.add(done);
    done.finally(() => this.#feeds.delete(done));
    return done;
  }

  /** Cancels the input and waits for every `feed` to end. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      await this.#reader.cancel().catch(() => {});
    }
    await Promise.all(this.#feeds);
  }

  async #feed(stdin: WritableStream<Uint8Array>, generation: number) {
    const writer = stdin.getWriter();
    try {
      for (let i = 0;; i++) {
        const chunk = await this.#chunk(i, generation);
        if (generation !== this.#generation) return; // replaced: its ffmpeg is gone
        if (chunk === undefined) break;
        await writer.write(chunk);
      }
      await writer.close();
    } catch {
      // ffmpeg closing its input early (it found an error, or was killed) breaks the pipe: its
      // exit status says what happened.
      await writer.abort().catch(() => {});
    } finally {
      writer.releaseLock();
    }
  }

  /** Chunk number `i`, reading it if needed; undefined at the end. */
  async #chunk(i: number, generation: number): Promise<Uint8Array | undefined> {
    while (i >= this.#count && !this.#ended) {
      this.#reading ??= this.#read();
      await this.#reading;
    }
    if (this.#kept !== undefined && i < this.#kept.length) {
      return this.#kept[i];
    }
    if (!this.#keeping && generation === this.#generation) {
      this.#kept = undefined; // the current feed is past every kept chunk
    }
    return i === this.#count - 1 ? this.#last : undefined;
  }

  async #read(): Promise<void> {
    try {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#ended = true;
        return;
      }
      this.#count++;
      this.#last = value;
      if (this.#keeping) {
        this.#kept!.push(value);
        this.#keptBytes += value.length;
        if (this.#keptBytes > REPLAY_LIMIT) this.#keeping = false;
      }
    } catch (error) {
      if (!this.#stopped) this.error ??= error;
      this.#ended = true;
    } finally {
      this.#reading = undefined;
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
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

/**
 * Whether ffmpeg can be run (`ffmpeg -version` succeeds).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ffmpegAvailable } from "./ffmpeg_source.ts";
 * assertEquals(await ffmpegAvailable({ ffmpegPath: "/nonexistent/ffmpeg" }), false);
 * ```
 */
export async function ffmpegAvailable(
  options: FfmpegAvailableOptions = {},
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(options.ffmpegPath ?? "ffmpeg", {
      args: ["-hide_banner", "-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false; // not found, not executable, or --allow-run refused
  }
}

/**
 * The error message for an input that is not Matroska/WebM when ffmpeg is missing: what was
 * found, and what is needed. `format` is what `sniffFormat` named.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeFfmpegMissing } from "./ffmpeg_source.ts";
 * assertEquals(
 *   describeFfmpegMissing("mp4", "movie.mp4"),
 *   "Input movie.mp4 is mp4, not Matroska/WebM: install ffmpeg to have mkserver remux it (apt-get install ffmpeg)",
 * );
 * ```
 */
export function describeFfmpegMissing(format: string, input: string): string {
  const what = format === "unknown" || format === ""
    ? `Input ${input} is not Matroska/WebM`
    : `Input ${input} is ${format}, not Matroska/WebM`;
  return `${what}: install ffmpeg to have mkserver remux it (apt-get install ffmpeg)`;
}
