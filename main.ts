/**
 * mkserver: serve live Matroska/WebM streams over HTTP to many viewers.
 *
 * A run goes through phases: read the config, open the input, start the server, feed the input
 * into its mount, drain the viewers. What a failure prints and the exit code it ends with come
 * from one table, `failure()`.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { InputFormatError } from "./lib/ingest/ingest.ts";
import { describeOpenError, type Input, InputError, openInput } from "./lib/ingest/open_input.ts";
import { originOf, relayAll } from "./lib/ingest/relay.ts";
import { createLogger, errorMessage, type Logger } from "./lib/log.ts";
import {
  applyConfigFile,
  type CliOptions,
  parseCliOptions,
  USAGE,
  UsageError,
} from "./lib/server/cli_options.ts";
import { ConfigFileError } from "./lib/server/config_file.ts";
import type { AccessPolicy } from "./lib/server/access/access_policy.ts";
import { createAccessPolicy } from "./lib/server/access/create_access_policy.ts";
import { signCommand } from "./lib/server/access/sign_command.ts";
import { CHUNKED } from "./lib/server/chunked.ts";
import { SUMMARY_INTERVAL } from "./lib/server/flags.ts";
import { keyframeWarnings } from "./lib/server/keyframe_warnings.ts";
import { PackagerTable } from "./lib/server/packagers.ts";
import { type MountServer, serveMount } from "./lib/server/serve.ts";
import { Webhooks } from "./lib/server/webhooks/webhooks.ts";
import { MountRegistry, type Publication } from "./lib/stream/mount_registry.ts";
import { combineTaps } from "./lib/stream/mount_tap.ts";
import { RecorderTable } from "./lib/record/recorder_table.ts";

/** mkserver's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** Milliseconds of a file played at once at the start, to fill the viewers' fast-start window. */
const FILE_PREROLL_MS = 2000;

/** Milliseconds the webhook receivers get at the end to take the events still waiting. */
const WEBHOOK_FLUSH_MS = 5000;

/** Reads an environment variable when mkserver may (`--allow-env`); else undefined. */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no permission to read the environment
  }
}

/** The settings of a run: the command line over the config file, and the environment. */
interface Config {
  options: CliOptions;
  sourceToken?: string;
  adminToken?: string;
  webhookSecret?: string;
  /** Pushing is on by a token and no INPUT was given: the server waits for pushed sources only. */
  pushOnly: boolean;
}

/** The access policy of `config` (none without access flags), with secrets from the environment. */
function accessOf(config: Config, log: Logger): Promise<AccessPolicy | undefined> {
  const o = config.options;
  return createAccessPolicy({
    viewToken: o.viewToken ?? env("MKSERVER_VIEW_TOKEN"),
    urlSecret: o.urlSecret ?? env("MKSERVER_URL_SECRET"),
    jwtSecret: o.jwtSecret ?? env("MKSERVER_JWT_SECRET"),
    jwks: o.jwks,
    authUrl: o.authUrl,
    sourceToken: config.sourceToken,
    publishTokens: o.publishTokens,
    viewAllow: o.viewAllow,
    viewDeny: o.viewDeny,
    publishAllow: o.publishAllow,
    publishDeny: o.publishDeny,
  }, log);
}

/** A runtime failure whose message is its one log line (exit 1). */
class FatalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FatalError";
  }
}

/**
 * How a failure ends mkserver: usage mistakes (the command line, the config file) exit 2 with
 * a `mkserver: …` line on standard error; runtime failures exit 1 with one log line. Undefined
 * for anything else, which is a bug and surfaces with its stack.
 */
function failure(error: unknown, input: string): { code: 1 | 2; line: string } | undefined {
  if (error instanceof UsageError) {
    return { code: 2, line: `mkserver: ${error.message}\nTry 'mkserver --help' for usage.` };
  }
  if (error instanceof ConfigFileError) return { code: 2, line: `mkserver: ${error.message}` };
  if (error instanceof FatalError || error instanceof InputError) {
    return { code: 1, line: error.message };
  }
  if (error instanceof InputFormatError) {
    return { code: 1, line: `Cannot serve ${input}: ${error.message}` };
  }
  return undefined;
}

/** Phase 1: the settings, or the text `--help` or `--version` prints. Throws usage mistakes. */
async function readConfig(args: readonly string[]): Promise<Config | { print: string }> {
  let options: CliOptions;
  try {
    options = parseCliOptions(await applyConfigFile(args));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new ConfigFileError("cannot read the --config file: no such file", {
      path: "",
      cause: error,
    });
  }
  if (options.help) return { print: USAGE };
  if (options.version) return { print: `mkserver ${VERSION}` };
  const sourceToken = options.sourceToken ?? env("MKSERVER_SOURCE_TOKEN");
  const adminToken = options.adminToken ?? env("MKSERVER_ADMIN_TOKEN");
  const webhookSecret = options.webhookSecret ?? env("MKSERVER_WEBHOOK_SECRET");
  const pushOnly = (sourceToken !== undefined || options.publishTokens !== undefined) &&
    !options.inputGiven;
  if (!pushOnly && !options.inputGiven && Deno.stdin.isTerminal()) {
    throw new UsageError(
      "no INPUT given and standard input is a terminal: pipe a stream in or name a file.",
    );
  }
  return { options, sourceToken, adminToken, webhookSecret, pushOnly };
}

/** The PEM files of `--cert` and `--key`, when given. */
async function readTls(options: CliOptions): Promise<{ cert: string; key: string } | undefined> {
  if (options.cert === undefined || options.key === undefined) return undefined;
  try {
    return {
      cert: await Deno.readTextFile(options.cert),
      key: await Deno.readTextFile(options.key),
    };
  } catch (error) {
    throw new FatalError(`Cannot read the TLS certificate or key: ${describeOpenError(error)}`, {
      cause: error,
    });
  }
}

/** Phase 2: the INPUT, opened (none when serving pushed sources only or relaying an origin). */
async function openStreamInput(
  config: Config,
  log: Logger,
  signal: AbortSignal,
): Promise<Input | undefined> {
  const options = config.options;
  if (config.pushOnly || options.relayAll) return undefined;
  try {
    return await openInput(options.address, {
      loop: options.loop,
      reconnect: options.reconnect,
      idleTimeout: options.sourceTimeout,
      preroll: FILE_PREROLL_MS,
      log,
      signal,
    });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new FatalError(`Cannot open input ${options.input}: ${describeOpenError(error)}`, {
      cause: error,
    });
  }
}

/** Phase 3: the server, listening. */
function startServer(
  config: Config,
  registry: MountRegistry,
  extra: {
    tls?: { cert: string; key: string };
    packagers?: PackagerTable;
    recorders?: RecorderTable;
    access?: AccessPolicy;
    webhooks?: Webhooks;
  },
  log: Logger,
): MountServer {
  const options = config.options;
  const { tls, packagers, recorders, access, webhooks } = extra;
  try {
    return serveMount(registry, {
      port: options.port,
      hostname: options.host,
      log,
      maxClients: options.maxClients,
      stallTimeout: options.stallTimeout,
      headerTimeout: options.headerTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      tls,
      adminToken: config.adminToken,
      sourceToken: config.sourceToken,
      summaryInterval: SUMMARY_INTERVAL,
      packagers,
      recorders,
      recordDir: options.record,
      access,
      webhooks,
    });
  } catch (error) {
    throw new FatalError(
      `Cannot listen on ${options.host}:${options.port}: ${describeOpenError(error)}`,
      { cause: error },
    );
  }
}

/** Says where everything is served, and starts mirroring the origin with `--relay-all`. */
function announce(
  config: Config,
  registry: MountRegistry,
  base: string,
  run: { input?: Input; access?: AccessPolicy; log: Logger; signal: AbortSignal },
): Promise<void> | undefined {
  const { options } = config;
  const log = run.log;
  if (run.input) log.info(`Serving ${run.input.label} at ${base}/stream`);
  if (options.record !== undefined) log.info(`Recording every mount into ${options.record}/NAME/`);
  let relaying: Promise<void> | undefined;
  if (options.relayAll) {
    const origin = originOf(options.input).base;
    log.info(
      `Serving every mount of ${origin} at ${base}/live/NAME (its default mount at /stream)`,
    );
    relaying = relayAll(registry, origin, {
      log,
      signal: run.signal,
      reconnect: options.reconnect,
      idleTimeout: options.sourceTimeout,
    });
  }
  if (run.access?.allowsPublishing ?? config.sourceToken !== undefined) {
    const how = run.access ? "a publish credential" : "the source token";
    log.info(`Serving pushed sources at ${base}/live/NAME (PUT or POST with ${how})`);
  }
  if (run.access?.guardsViewing) log.info("Viewers need a credential (see --help, Access)");
  return relaying;
}

/** Phase 4: the input, read into its mount until it ends; resolves with the exit code. */
async function feed(
  input: Input,
  publication: Publication,
  run: { name: string; log: Logger; signal: AbortSignal },
): Promise<number> {
  const log = run.log;
  let code = 0;
  try {
    const signal = AbortSignal.any([run.signal, publication.mount.stopSignal]);
    const result = await input.feed(publication, signal);
    if (result.truncated) {
      log.warn(`Input ended mid-element: ${result.truncated.message}; ending the stream there`);
    }
    log.info(`Input ended after ${result.bytes} bytes and ${result.blocks} blocks`);
  } catch (error) {
    code = 1;
    log.error(failure(error, run.name)?.line ?? `Input failed: ${errorMessage(error)}`);
  }
  // The CLI's own stream ends with its input: no grace.
  publication.mount.end();
  publication.finish();
  return code;
}

/**
 * Phase 5: with pushing or relaying, waits to be stopped; then ends every mount and lets each
 * viewer receive the rest of its stream before the server closes.
 */
async function drain(
  server: MountServer,
  registry: MountRegistry,
  run: {
    waits: boolean;
    relaying?: Promise<void>;
    webhooks?: Webhooks;
    log: Logger;
    signal: AbortSignal;
  },
): Promise<void> {
  const signal = run.signal;
  if (run.waits && !signal.aborted) {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  }
  await run.relaying;
  registry.endAll();
  if (server.activeStreams > 0) {
    run.log.info(`Waiting for ${server.activeStreams} viewer(s) to receive the rest of the stream`);
  }
  await server.idle();
  await server.shutdown();
  // The last events (the viewers' stops, the sources' unpublish) are worth a short wait.
  await run.webhooks?.close(WEBHOOK_FLUSH_MS);
}

/** Phases 2 to 5, once the settings are read; resolves with the exit code. */
async function serve(config: Config, log: Logger, signal: AbortSignal): Promise<number> {
  const options = config.options;
  const tls = await readTls(options);
  const access = await accessOf(config, log);
  const input = await openStreamInput(config, log, signal);
  // Segments are kept as long as the ring keeps media (--buffer).
  const packagers = options.segments
    ? new PackagerTable({
      partTarget: options.partTarget / 1000,
      keepSeconds: options.bufferMs / 1000,
      maxBytes: options.bufferBytes,
    }, log)
    : undefined;
  const webhooks = options.webhooks.length === 0 ? undefined : new Webhooks(options.webhooks, {
    secret: config.webhookSecret,
    queueLimit: options.webhookQueue,
    userAgent: `mkserver/${VERSION}`,
    log,
  });
  const recorders = options.record === undefined ? undefined : await RecorderTable.open({
    dir: options.record,
    segmentMs: options.recordSegment.ms,
    segmentBytes: options.recordSegment.bytes,
    keep: options.recordKeep,
    log,
    events: webhooks,
  });
  const registry = new MountRegistry({
    events: webhooks,
    mountOptions: {
      start: options.burst,
      slowPolicy: options.slowPolicy,
      latency: options.latency,
      maxDuration: options.bufferMs,
      maxBytes: options.bufferBytes,
      wire: CHUNKED,
      tap: combineTaps(packagers?.tap, recorders?.tap),
      ...keyframeWarnings(log),
    },
    grace: options.sourceGrace,
    log,
  });
  const publication = input ? registry.publish("stream") : undefined;
  let server: MountServer;
  try {
    server = startServer(config, registry, { tls, packagers, recorders, access, webhooks }, log);
  } catch (error) {
    await input?.cancel();
    throw error;
  }
  const base = `${tls ? "https" : "http"}://${server.addr.hostname}:${server.addr.port}`;
  const relaying = announce(config, registry, base, { input, access, log, signal });
  const code = input && publication
    ? await feed(input, publication, { name: options.input, log, signal })
    : 0;
  // With pushing enabled, the server runs until it is stopped; otherwise it ends with its input.
  const pushing = access?.allowsPublishing ?? config.sourceToken !== undefined;
  const waits = pushing || relaying !== undefined;
  await drain(server, registry, { waits, relaying, webhooks, log, signal });
  await recorders?.closed(); // every recording finished: Cues, Duration, sizes
  return code;
}

/** Runs mkserver with command-line `args`; resolves with the exit code. */
export async function main(args: readonly string[], log?: Logger): Promise<number> {
  if (args[0] === "sign") return await sign(args.slice(1));
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

/** `mkserver sign …`: prints a signed path; usage mistakes exit 2. */
async function sign(args: readonly string[]): Promise<number> {
  try {
    return await signCommand(args);
  } catch (error) {
    const failed = failure(error, "");
    if (failed === undefined) throw error;
    console.error(failed.line.replace("'mkserver --help'", "'mkserver sign --help'"));
    return failed.code;
  }
}

/** The work of `main`, once its signal listeners are in place: the phases, and one catch. */
async function run(
  args: readonly string[],
  context: { log?: Logger; stop: AbortController },
): Promise<number> {
  try {
    const config = await readConfig(args);
    if ("print" in config) {
      console.log(config.print);
      return 0;
    }
    context.log ??= createLogger(config.options.logLevel);
    return await serve(config, context.log, context.stop.signal);
  } catch (error) {
    const failed = failure(error, "");
    if (failed === undefined) throw error;
    if (failed.code === 2 || context.log === undefined) console.error(failed.line);
    else context.log.error(failed.line);
    return failed.code;
  } finally {
    context.stop.abort(); // stops whatever the input started (ffmpeg, a TCP listener, a fetch)
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
