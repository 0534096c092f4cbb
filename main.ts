/**
 * mkserver: serve one live Matroska/WebM stream over HTTP to many viewers.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { ingest, InputFormatError } from "./lib/ingest/ingest.ts";
import { openFileSource } from "./lib/ingest/file_source.ts";
import { hexPrefix, peekBytes, sniffFormat } from "./lib/ingest/sniff_format.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { applyConfigFile, parseCliOptions, USAGE, UsageError } from "./lib/server/cli_options.ts";
import { ConfigFileError } from "./lib/server/config_file.ts";
import { serveMount } from "./lib/server/serve.ts";
import { Mount } from "./lib/stream/mount.ts";

/** mkserver's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** Milliseconds of a file played at once at the start, to fill the viewers' fast-start window. */
const FILE_PREROLL_MS = 2000;

function describeOpenError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "is a directory";
  return (error as Error)?.message ?? String(error);
}

async function openInput(
  input: string,
  loop: boolean,
): Promise<{ source: ReadableStream<Uint8Array>; realtime: boolean }> {
  if (input === "-") return { source: Deno.stdin.readable, realtime: false };
  if (/^https?:\/\//i.test(input)) {
    const response = await fetch(input);
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`);
    }
    return { source: response.body, realtime: false };
  }
  return { source: await openFileSource(input, { loop }), realtime: true };
}

/** The admin token from the environment, when mkserver may read it (`--allow-env`). */
function envToken(): string | undefined {
  try {
    return Deno.env.get("MKSERVER_ADMIN_TOKEN") || undefined;
  } catch {
    return undefined; // no permission to read the environment
  }
}

/** Runs mkserver with command-line `args`; resolves with the exit code. */
export async function main(
  args: readonly string[],
  log?: Logger,
): Promise<number> {
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
    console.error(
      `mkserver: ${error.message}\nTry 'mkserver --help' for usage.`,
    );
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
  if (!options.inputGiven && Deno.stdin.isTerminal()) {
    console.error(
      "mkserver: no INPUT given and standard input is a terminal: pipe a stream in or name a file.\nTry 'mkserver --help' for usage.",
    );
    return 2;
  }
  log ??= createLogger(options.logLevel);

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
  const adminToken = options.adminToken ?? envToken();

  let opened;
  try {
    opened = await openInput(options.input, options.loop);
  } catch (error) {
    log.error(
      `Cannot open input ${options.input}: ${describeOpenError(error)}`,
    );
    return 1;
  }

  if (options.input !== "-") {
    // Refuse a file or URL that is not Matroska before listening: one clear line, no server.
    // Standard input may start late (a pipe from an encoder), so it is checked as it arrives.
    const { head, stream } = await peekBytes(opened.source, 192);
    opened.source = stream;
    const format = head.length === 0 ? "empty" : sniffFormat(head);
    if (format !== "ebml") {
      const why = format === "empty"
        ? "it is empty"
        : `it is not Matroska or WebM: it starts with ${hexPrefix(head)}${
          format === "unknown" ? "" : ` (looks like ${format})`
        }`;
      log.error(`Cannot serve ${options.input}: ${why}`);
      await opened.source.cancel().catch(() => {});
      return 1;
    }
  }

  const mount = new Mount("stream", {
    start: options.burst,
    slowPolicy: options.slowPolicy,
    lowLatency: options.lowLatency,
    maxDuration: options.bufferMs,
    maxBytes: options.bufferBytes,
  });
  let server;
  try {
    server = serveMount(mount, {
      port: options.port,
      hostname: options.host,
      log,
      maxClients: options.maxClients,
      stallTimeout: options.stallTimeout,
      tls,
      adminToken,
      summaryInterval: 30_000,
    });
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "the address is already in use"
      : describeOpenError(error);
    log.error(`Cannot listen on ${options.host}:${options.port}: ${why}`);
    await opened.source.cancel().catch(() => {});
    return 1;
  }
  const where = `${tls ? "https" : "http"}://${server.addr.hostname}:${server.addr.port}/stream`;
  log.info(
    `Serving ${options.input === "-" ? "standard input" : options.input} at ${where}`,
  );

  const stop = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(1);
    log.info("Stopping: ending the stream for every viewer");
    stop.abort();
  };
  const signalNames: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signalNames) Deno.addSignalListener(s, onSignal);

  let code = 0;
  try {
    const result = await ingest(opened.source, mount, {
      realtime: opened.realtime,
      preroll: FILE_PREROLL_MS,
      log,
      signal: AbortSignal.any([stop.signal, mount.stopSignal]),
    });
    if (result.truncated) {
      log.warn(
        `Input ended mid-element: ${result.truncated.message}; ending the stream there`,
      );
    }
    log.info(
      `Input ended after ${result.bytes} bytes and ${result.blocks} blocks`,
    );
  } catch (error) {
    code = 1;
    if (error instanceof InputFormatError) {
      log.error(`Cannot serve ${options.input}: ${error.message}`);
    } else {
      log.error(`Input failed: ${(error as Error)?.message ?? error}`);
    }
  }
  mount.end();
  if (server.activeStreams > 0) {
    log.info(
      `Waiting for ${server.activeStreams} viewer(s) to receive the rest of the stream`,
    );
  }
  await server.idle();
  await server.shutdown();
  for (const s of signalNames) Deno.removeSignalListener(s, onSignal);
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
