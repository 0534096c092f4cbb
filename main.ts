/**
 * mkserver: serve live Matroska/WebM streams over HTTP to many viewers.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import {
  describeFfmpegMissing,
  ffmpegAvailable,
  openFfmpegSource,
} from "./lib/ingest/ffmpeg_source.ts";
import { openFileSource } from "./lib/ingest/file_source.ts";
import { ingest, InputFormatError } from "./lib/ingest/ingest.ts";
import { hexPrefix, peekBytes, sniffFormat } from "./lib/ingest/sniff_format.ts";
import { listenTcpSource } from "./lib/ingest/tcp_source.ts";
import { openUrlSource } from "./lib/ingest/url_source.ts";
import { originOf, relayAll, type RelayStatus, trackLag } from "./lib/ingest/relay.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import {
  applyConfigFile,
  type CliOptions,
  parseCliOptions,
  USAGE,
  UsageError,
} from "./lib/server/cli_options.ts";
import { ConfigFileError } from "./lib/server/config_file.ts";
import { CHUNKED } from "./lib/server/chunked.ts";
import { keyframeWarnings } from "./lib/server/keyframe_warnings.ts";
import { serveMount } from "./lib/server/serve.ts";
import { MountRegistry } from "./lib/stream/mount_registry.ts";

/** mkserver's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** Milliseconds of a file played at once at the start, to fill the viewers' fast-start window. */
const FILE_PREROLL_MS = 2000;

function describeOpenError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  if (error instanceof Deno.errors.AddrInUse) return "the address is already in use";
  return (error as Error)?.message ?? String(error);
}

/** Reads an environment variable when mkserver may (`--allow-env`); else undefined. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no permission to read the environment
  }
}

/** An opened input: its bytes, and how to ingest them. */
interface Input {
  source: ReadableStream<Uint8Array>;
  /** Pace by block timestamps (files). */
  realtime: boolean;
  /** For reconnecting sources: true once per new connection (see `ingest`). */
  shouldRestart?: () => boolean;
  /** How the log names it. */
  label: string;
  /** For an http(s) input: the pull's state, shown in /status. */
  relay?: RelayStatus;
}

/** Why an input cannot be served: one log line, exit 1. */
class InputError extends Error {}

/**
 * Recognizes a stream from its first bytes: Matroska/WebM passes through; anything else goes
 * through `ffmpeg -c copy -f matroska` when ffmpeg is installed (the seed opened whatever
 * libavformat opens), or fails with one line saying what is needed.
 */
async function matroskaOrRemux(
  stream: ReadableStream<Uint8Array>,
  label: string,
  remux: (stream: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const { head, stream: all } = await peekBytes(stream, 192);
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
  return remux(all);
}

async function openInput(
  options: CliOptions,
  log: Logger,
  signal: AbortSignal,
): Promise<Input> {
  const input = options.input;
  let restart = false;
  const shouldRestart = () => {
    const r = restart;
    restart = false;
    return r;
  };
  const relay: RelayStatus = { url: input, state: "connecting", lagSeconds: null, reconnects: 0 };
  const onConnect = (n: number) => {
    relay.state = "live";
    if (n > 1) {
      restart = true;
      relay.reconnects++;
    }
  };
  const remux = (label: string) => (stream: ReadableStream<Uint8Array>) => {
    log.info(`${label} is not Matroska: remuxing it with ffmpeg`);
    return openFfmpegSource(stream, { log, signal });
  };
  if (input === "-") {
    // Checked as it arrives (a pipe from an encoder may start late), after listening.
    return { source: Deno.stdin.readable, realtime: false, label: "standard input" };
  }
  if (/^https?:\/\//i.test(input)) {
    const source = await openUrlSource(input, {
      reconnect: options.reconnect,
      idleTimeout: options.sourceTimeout,
      onConnect,
      signal,
      log,
    });
    return {
      source: await matroskaOrRemux(source, input, remux(input)),
      realtime: false,
      shouldRestart,
      label: input,
      relay,
    };
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/i.exec(input);
  if (tcp) {
    const listener = listenTcpSource({
      hostname: tcp[1].replace(/^\[|\]$/g, ""),
      port: Number(tcp[2]),
      idleTimeout: options.sourceTimeout,
      onConnect,
      signal,
      log,
    });
    const where = `${listener.addr.hostname}:${listener.addr.port}`;
    return {
      source: listener.readable,
      realtime: false,
      shouldRestart,
      label: `sources on tcp://${where}`,
    };
  }
  const file = await openFileSource(input, { loop: options.loop });
  return {
    source: await matroskaOrRemux(file, input, (stream) => {
      log.info(`${input} is not Matroska: remuxing it with ffmpeg`);
      stream.cancel().catch(() => {});
      // Let ffmpeg read the file itself (it may need to seek, e.g. an MP4's index at its end).
      return openFfmpegSource(input, {
        log,
        signal,
        inputArgs: options.loop ? ["-stream_loop", "-1"] : [],
      });
    }),
    realtime: true,
    label: input,
  };
}

/** Runs mkserver with command-line `args`; resolves with the exit code. */
export async function main(args: readonly string[], log?: Logger): Promise<number> {
  // Signal listeners first, before any await: one added later stopped firing here once the
  // server had answered a request (observed with Deno 2.9.6), and SIGTERM then killed the
  // process without ending the stream.
  const stop = new AbortController();
  const context = { log, stop };
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(1);
    context.log?.info("Stopping: ending the stream for every viewer");
    stop.abort();
  };
  const signalNames: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signalNames) Deno.addSignalListener(s, onSignal);
  try {
    return await run(args, context);
  } finally {
    for (const s of signalNames) Deno.removeSignalListener(s, onSignal);
  }
}

/** The work of `main`, once its signal listeners are in place. */
async function run(
  args: readonly string[],
  context: { log?: Logger; stop: AbortController },
): Promise<number> {
  const stop = context.stop;
  let options;
  try {
    options = parseCliOptions(await applyConfigFile(args));
  } catch (error) {
    if (error instanceof ConfigFileError) {
      console.error(`mkserver: ${error.message}`);
      return 2;
    }
    if (error instanceof Deno.errors.NotFound) {
      console.error("mkserver: cannot read the --config file: no such file");
      return 2;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(`mkserver: ${error.message}\nTry 'mkserver --help' for usage.`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  if (options.version) {
    console.log(`mkserver ${VERSION}`);
    return 0;
  }
  const sourceToken = options.sourceToken ?? env("MKSERVER_SOURCE_TOKEN");
  const adminToken = options.adminToken ?? env("MKSERVER_ADMIN_TOKEN");
  // With pushing enabled and no INPUT, the server waits for pushed sources only.
  const pushOnly = sourceToken !== undefined && !options.inputGiven;
  if (!pushOnly && !options.inputGiven && Deno.stdin.isTerminal()) {
    console.error(
      "mkserver: no INPUT given and standard input is a terminal: pipe a stream in or name a file.\nTry 'mkserver --help' for usage.",
    );
    return 2;
  }
  const log = context.log ??= createLogger(options.logLevel);

  let tls: { cert: string; key: string } | undefined;
  if (options.cert !== undefined && options.key !== undefined) {
    try {
      tls = {
        cert: await Deno.readTextFile(options.cert),
        key: await Deno.readTextFile(options.key),
      };
    } catch (error) {
      log.error(`Cannot read the TLS certificate or key: ${describeOpenError(error)}`);
      return 1;
    }
  }

  let input: Input | undefined;
  if (!pushOnly && !options.relayAll) {
    try {
      input = await openInput(options, log, stop.signal);
    } catch (error) {
      if (error instanceof InputError) log.error(error.message);
      else log.error(`Cannot open input ${options.input}: ${describeOpenError(error)}`);
      stop.abort();
      return 1;
    }
  }

  const registry = new MountRegistry({
    mountOptions: {
      start: options.burst,
      slowPolicy: options.slowPolicy,
      lowLatency: options.lowLatency,
      maxDuration: options.bufferMs,
      maxBytes: options.bufferBytes,
      wire: CHUNKED,
      ...keyframeWarnings(log),
    },
    grace: options.sourceGrace,
    log,
  });
  const publication = input ? registry.publish("stream") : undefined;
  let server;
  try {
    server = serveMount(registry, {
      port: options.port,
      hostname: options.host,
      log,
      maxClients: options.maxClients,
      stallTimeout: options.stallTimeout,
      tls,
      adminToken,
      sourceToken,
      summaryInterval: 30_000,
    });
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : describeOpenError(error);
    log.error(`Cannot listen on ${options.host}:${options.port}: ${why}`);
    stop.abort();
    await input?.source.cancel().catch(() => {});
    return 1;
  }
  const base = `${tls ? "https" : "http"}://${server.addr.hostname}:${server.addr.port}`;
  if (input) log.info(`Serving ${input.label} at ${base}/stream`);
  let relaying: Promise<void> | undefined;
  if (options.relayAll) {
    const origin = originOf(options.input).base;
    log.info(
      `Serving every mount of ${origin} at ${base}/live/NAME (its default mount at /stream)`,
    );
    relaying = relayAll(registry, origin, {
      log,
      signal: stop.signal,
      reconnect: options.reconnect,
      idleTimeout: options.sourceTimeout,
    });
  }
  if (sourceToken !== undefined) {
    log.info(`Serving pushed sources at ${base}/live/NAME (PUT or POST with the source token)`);
  }

  let code = 0;
  if (input && publication) {
    const lagStop = new AbortController();
    if (input.relay) {
      const relay = input.relay;
      publication.mount.source = { describe: () => ({ ...relay }) };
      trackLag(() => publication.mount, input.relay, originOf(options.input), {
        signal: AbortSignal.any([lagStop.signal, stop.signal]),
      });
    }
    try {
      let source = input.source;
      if (options.input === "-") {
        source = await matroskaOrRemux(source, "standard input", (stream) => {
          log.info("Standard input is not Matroska: remuxing it with ffmpeg");
          return openFfmpegSource(stream, { log, signal: stop.signal });
        });
      }
      const result = await ingest(source, publication, {
        realtime: input.realtime,
        preroll: FILE_PREROLL_MS,
        log,
        signal: AbortSignal.any([stop.signal, publication.mount.stopSignal]),
        shouldRestart: input.shouldRestart,
      });
      if (result.truncated) {
        log.warn(`Input ended mid-element: ${result.truncated.message}; ending the stream there`);
      }
      log.info(`Input ended after ${result.bytes} bytes and ${result.blocks} blocks`);
    } catch (error) {
      code = 1;
      if (error instanceof InputError) log.error(error.message);
      else if (error instanceof InputFormatError) {
        log.error(`Cannot serve ${options.input}: ${error.message}`);
      } else log.error(`Input failed: ${(error as Error)?.message ?? error}`);
    }
    lagStop.abort();
    if (input.relay) input.relay.state = "ended";
    // The CLI's own stream ends with its input: no grace.
    publication.mount.end();
    publication.finish();
  }
  // With pushing enabled, the server runs until it is stopped; otherwise it ends with its input.
  if ((sourceToken !== undefined || relaying) && !stop.signal.aborted) {
    await new Promise((resolve) => stop.signal.addEventListener("abort", resolve, { once: true }));
  }
  await relaying;
  registry.endAll();
  if (server.activeStreams > 0) {
    log.info(`Waiting for ${server.activeStreams} viewer(s) to receive the rest of the stream`);
  }
  await server.idle();
  await server.shutdown();
  stop.abort(); // stops whatever the input started (ffmpeg, a TCP listener, a fetch)
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
