/**
 * The CLI's INPUT, opened: a file, standard input, an http(s) pull or a tcp:// listener, each
 * checked to be Matroska/WebM (anything else goes through ffmpeg) by the same code.
 *
 * @module
 */

import { errorMessage, type Logger, SILENT } from "../log.ts";
import type { Publication } from "../stream/mount_registry.ts";
import { describeFfmpegMissing, ffmpegAvailable, openFfmpegSource } from "./ffmpeg_source.ts";
import { openFileSource } from "./file_source.ts";
import { ingest, type IngestResult } from "./ingest.ts";
import type { InputAddress } from "./input_address.ts";
import { feedPull, openPull } from "./relay.ts";
import { hexPrefix, peekBytes, sniffFormat } from "./sniff_format.ts";
import { listenTcpSource } from "./tcp_source.ts";

/** Why an input cannot be served, said in one log line. */
export class InputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InputError";
  }
}

/** Options of `openInput`. */
export interface OpenInputOptions {
  /** Replay a file forever. */
  loop?: boolean;
  /** Reconnect an http(s) pull that drops (default true). */
  reconnect?: boolean;
  /** Milliseconds a network source may send nothing before it counts as dropped. */
  idleTimeout?: number;
  /** Milliseconds of a file played at once at the start (see `IngestOptions.preroll`). */
  preroll?: number;
  log?: Logger;
  /** Stops what the input started: ffmpeg, a listener, a fetch. */
  signal?: AbortSignal;
}

/** An opened INPUT. */
export interface Input {
  /** How the log names it: a path, a URL, `standard input`, `sources on tcp://HOST:PORT`. */
  readonly label: string;
  /**
   * Reads the input into `publication` until it ends or `signal` aborts. Throws `InputError`
   * (one line to log) when standard input turns out not to be servable, and what `ingest`
   * throws (`InputFormatError` for a stream that is not Matroska after all).
   */
  feed(publication: Publication, signal: AbortSignal): Promise<IngestResult>;
  /** Gives the input up unread (the server could not start). */
  cancel(): Promise<void>;
}

/** The first bytes `matroskaOrRemux` looks at: enough for every signature `sniffFormat` knows. */
const SNIFF_BYTES = 192;

/**
 * Recognizes a stream from its first bytes: Matroska/WebM passes through; anything else goes
 * through `remux` (ffmpeg, `-c copy -f matroska`) when ffmpeg is installed, since the seed
 * opened whatever libavformat opens; else it fails with one line saying what is needed.
 */
async function matroskaOrRemux(
  stream: ReadableStream<Uint8Array>,
  label: string,
  remux: (stream: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>,
  log: Logger,
): Promise<ReadableStream<Uint8Array>> {
  const { head, stream: all } = await peekBytes(stream, SNIFF_BYTES);
  if (head.length === 0) throw new InputError(`Cannot serve ${label}: it is empty`);
  const format = sniffFormat(head);
  if (format === "ebml") return all;
  if (format === "text" || !(await ffmpegAvailable())) {
    await all.cancel().catch(() => {});
    const found = format === "unknown" ? `data starting with ${hexPrefix(head)}` : format;
    throw new InputError(
      format === "text"
        ? `Cannot serve ${label}: it is not Matroska or WebM: it starts with ${
          hexPrefix(head)
        } (looks like text)`
        : describeFfmpegMissing(found, label),
    );
  }
  const subject = label === STDIN ? "Standard input" : label;
  log.info(`${subject} is not Matroska: remuxing it with ffmpeg`);
  return remux(all);
}

const STDIN = "standard input";

/**
 * Opens `address`. A file or URL is checked (and its first bytes read) here, so a bad one fails
 * before the server listens; standard input is checked in `feed`, as it arrives (a pipe from an
 * encoder may start late). Throws `InputError` for an input that cannot be served, or what
 * opening it threw (`Deno.errors.NotFound`, a failed first fetch).
 */
export async function openInput(
  address: InputAddress,
  options: OpenInputOptions = {},
): Promise<Input> {
  const log = options.log ?? SILENT;
  const signal = options.signal;
  const toFfmpeg = (stream: ReadableStream<Uint8Array>) =>
    openFfmpegSource(stream, { log, signal });
  switch (address.kind) {
    case "stdin": {
      const source = Deno.stdin.readable;
      return {
        label: STDIN,
        feed: async (publication, stop) =>
          await ingest(await matroskaOrRemux(source, STDIN, toFfmpeg, log), publication, {
            log,
            signal: stop,
          }),
        cancel: () => source.cancel().catch(() => {}),
      };
    }
    case "http": {
      const label = address.url;
      const pull = await openPull(label, {
        reconnect: options.reconnect,
        idleTimeout: options.idleTimeout,
        remux: (stream) => matroskaOrRemux(stream, label, toFfmpeg, log),
        log,
        signal,
      });
      return {
        label,
        feed: (publication, stop) => feedPull(pull, publication, { log, signal: stop }),
        cancel: () => pull.source.cancel().catch(() => {}),
      };
    }
    case "tcp":
      return listenForSources(address, options);
    case "file":
      return await openFile(address.path, options);
  }
}

/** A tcp:// INPUT: one pushed source at a time; each new connection restarts the parser. */
function listenForSources(
  address: { hostname: string; port: number },
  options: OpenInputOptions,
): Input {
  const log = options.log ?? SILENT;
  let restart = false;
  const listener = listenTcpSource({
    hostname: address.hostname,
    port: address.port,
    idleTimeout: options.idleTimeout,
    onConnect: (n) => restart ||= n > 1,
    signal: options.signal,
    log,
  });
  const label = `sources on tcp://${listener.addr.hostname}:${listener.addr.port}`;
  const shouldRestart = () => {
    const r = restart;
    restart = false;
    return r;
  };
  return {
    label,
    feed: (publication, stop) =>
      ingest(listener.readable, publication, { log, signal: stop, shouldRestart }),
    cancel: () => listener.readable.cancel().catch(() => {}),
  };
}

/** A file, played at real-time speed; one that is not Matroska is remuxed by ffmpeg. */
async function openFile(path: string, options: OpenInputOptions): Promise<Input> {
  const log = options.log ?? SILENT;
  const file = await openFileSource(path, { loop: options.loop });
  const source = await matroskaOrRemux(file, path, (stream) => {
    stream.cancel().catch(() => {});
    // Let ffmpeg read the file itself (it may need to seek, e.g. an MP4's index at its end).
    return openFfmpegSource(path, {
      log,
      signal: options.signal,
      inputArgs: options.loop ? ["-stream_loop", "-1"] : [],
    });
  }, log);
  return {
    label: path,
    feed: (publication, stop) =>
      ingest(source, publication, {
        realtime: true,
        preroll: options.preroll,
        log,
        signal: stop,
      }),
    cancel: () => source.cancel().catch(() => {}),
  };
}

/** The message of an error while opening an input or its TLS files, for a log line. */
export function describeOpenError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Deno.errors.AddrInUse) return "the address is already in use";
  return errorMessage(error);
}
