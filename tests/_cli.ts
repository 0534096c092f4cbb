/**
 * Test helpers: running the mkserver CLI (`deno run main.ts`) and external tools as child
 * processes, reading the server's log lines as they come, and cleaning up every handle so
 * Deno's resource and op sanitizers pass.
 *
 * @module
 */

/** The repository root (where `main.ts` and `deno.json` are). */
export const ROOT: URL = new URL("../", import.meta.url);

/** The path of a fixture in `testdata/`. */
export function fixturePath(name: string): string {
  return new URL(`testdata/${name}`, ROOT).pathname;
}

/**
 * The command line that runs mkserver from source. `--quiet` silences Deno's own "Download …"
 * lines (a cold cache would otherwise add them to stderr); mkserver's log is unaffected.
 */
export function cliArgs(args: readonly string[]): string[] {
  return ["run", "--quiet", "-A", "main.ts", ...args];
}

/** What a finished process left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit (ms). */
  ms: number;
}

/** Options of `run`. */
export interface RunOptions {
  /** Kill the process (SIGKILL) and throw after this many ms. Default 30000. */
  timeout?: number;
  /** Working directory. Default: the repository root. */
  cwd?: string | URL;
  /** Environment variables to set for the process. */
  env?: Record<string, string>;
}

/**
 * Runs `command` to completion with stdin closed and stdout/stderr captured. Throws when it
 * has not finished within `timeout` (after killing it), so a hung process fails the test
 * instead of hanging the suite.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeout = options.timeout ?? 30_000;
  const start = performance.now();
  const child = new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killQuietly(child, "SIGKILL");
  }, timeout);
  let output: Deno.CommandOutput;
  try {
    output = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  const result = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    ms: performance.now() - start,
  };
  if (timedOut) {
    throw new Error(
      `${command} ${args.join(" ")} did not finish within ${timeout} ms; ` +
        `stderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** Runs mkserver with `args` to completion (see `run`). */
export function runCli(
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run(Deno.execPath(), cliArgs(args), options);
}

function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Already exited.
  }
}

/** Options of `CliServer.start`. */
export interface CliServerOptions {
  /** Pipe standard input (for `INPUT` `-`); write with `write` and end with `closeStdin`. */
  stdin?: boolean;
  /** How long to wait for the "Serving … at URL" line (ms). Default 15000. */
  timeout?: number;
  /**
   * A command that runs mkserver as its last arguments and becomes it (`exec`s it), e.g.
   * `["prlimit", "--nofile=64:64"]`, so `child.pid` is still mkserver's.
   */
  under?: string[];
}

/** A waiter for a log line. */
interface LineWaiter {
  pattern: RegExp;
  resolve: (match: RegExpMatchArray) => void;
  reject: (error: Error) => void;
}

/** The pattern of the line mkserver logs once it listens. */
const SERVING = / INFO Serving .* at ((https?):\/\/(\S+?):(\d+)\/(?:stream$|live\/NAME))/;

/**
 * A running `mkserver` process. Its stderr is read line by line as it comes (so the pipe never
 * fills), kept in `lines`, and can be waited on with `waitForLine`. Dispose of it with
 * `await using`: a process still running is killed, and every handle is closed.
 */
export class CliServer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Every stderr line so far. */
  readonly lines: string[] = [];
  /** The port it listens on (from the "Serving" line). */
  port = 0;
  /** `http`, or `https` with --cert (from the "Serving" line). */
  scheme = "http";
  #waiters = new Set<LineWaiter>();
  #stderrDone: Promise<void>;
  #stderrEnded = false;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #exit: Promise<Deno.CommandStatus>;
  #exited = false;

  private constructor(args: readonly string[], stdin: boolean, under: string[] = []) {
    const [command, ...prefix] = [...under, Deno.execPath()];
    this.child = new Deno.Command(command, {
      args: [...prefix, ...cliArgs(args)],
      cwd: ROOT,
      stdin: stdin ? "piped" : "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    if (stdin) this.#stdin = this.child.stdin.getWriter();
    this.#exit = this.child.status.then((status) => {
      this.#exited = true;
      return status;
    });
    this.#stderrDone = this.#readStderr();
  }

  /**
   * Starts `mkserver args` and resolves once it logged "Serving … at http://HOST:PORT/stream"
   * (so `port` is known). Use `--port 0` in `args` so parallel tests never collide.
   */
  static async start(
    args: readonly string[],
    options: CliServerOptions = {},
  ): Promise<CliServer> {
    const server = new CliServer(args, options.stdin ?? false, options.under);
    try {
      const match = await server.waitForLine(
        SERVING,
        options.timeout ?? 15_000,
      );
      server.scheme = match[2];
      server.port = Number(match[4]);
    } catch (error) {
      await server[Symbol.asyncDispose]();
      throw error;
    }
    return server;
  }

  /** A URL on this server, e.g. `url("/stream")`. */
  url(path = "/stream"): string {
    return `${this.scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** The whole log so far, for assertion messages. */
  get log(): string {
    return this.lines.join("\n");
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Resolves with the first line (already logged or to come) matching `pattern`. Rejects when
   * none came within `timeout` ms or the process closed its stderr first.
   */
  waitForLine(pattern: RegExp, timeout = 10_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const match = line.match(pattern);
      if (match) return Promise.resolve(match);
    }
    if (this.#stderrEnded) {
      return Promise.reject(
        new Error(
          `mkserver exited without logging ${pattern}; its log:\n${this.log}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `mkserver did not log ${pattern} within ${timeout} ms; its log:\n${this.log}`,
          ),
        );
      }, timeout);
      const waiter: LineWaiter = {
        pattern,
        resolve: (match) => {
          clearTimeout(timer);
          resolve(match);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Writes to the server's standard input (started with `stdin: true`). */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.#stdin === undefined) throw new TypeError("stdin is not piped");
    await this.#stdin.write(bytes);
  }

  /** Closes the server's standard input: the end of the input stream. */
  async closeStdin(): Promise<void> {
    const writer = this.#stdin;
    this.#stdin = undefined;
    await writer?.close().catch(() => {});
  }

  /** Sends `signal` unless the process has exited. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (!this.#exited) killQuietly(this.child, signal);
  }

  /**
   * Resolves with the exit code once the process has exited and its stderr is read. Throws
   * (after killing it) when it is still running after `timeout` ms.
   */
  async exit(timeout = 15_000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout);
    });
    try {
      const status = await Promise.race([this.#exit, expired]);
      if (status === "timeout") {
        this.kill("SIGKILL");
        throw new Error(
          `mkserver did not exit within ${timeout} ms; its log:\n${this.log}`,
        );
      }
      await this.#stderrDone;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.closeStdin();
    await this.#exit;
    await this.#stderrDone;
  }

  async #readStderr(): Promise<void> {
    let pending = "";
    try {
      for await (
        const text of this.child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        pending += text;
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          this.#addLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      }
    } catch {
      // The pipe broke (the process was killed): keep what was read.
    } finally {
      if (pending) this.#addLine(pending);
      this.#stderrEnded = true;
      for (const waiter of this.#waiters) {
        waiter.reject(
          new Error(
            `mkserver exited without logging ${waiter.pattern}; its log:\n${this.log}`,
          ),
        );
      }
      this.#waiters.clear();
    }
  }

  #addLine(line: string): void {
    this.lines.push(line);
    for (const waiter of this.#waiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        this.#waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  }
}

/**
 * Pushes a fixture at real time with ffmpeg (`-re -c copy -f matroska`) to `url`: an
 * `http://…/live/NAME` mount (PUT with `token` as a bearer token) or a `tcp://HOST:PORT`.
 */
export function ffmpegPush(
  fixture: string,
  url: string,
  options: { token?: string; timeout?: number } = {},
): Promise<RunResult> {
  const put = options.token === undefined
    ? []
    : ["-method", "PUT", "-headers", `Authorization: Bearer ${options.token}\r\n`];
  return run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-re",
    "-i",
    fixture.startsWith("/") ? fixture : fixturePath(fixture),
    "-c",
    "copy",
    "-f",
    "matroska",
    ...put,
    url,
  ], { timeout: options.timeout ?? 60_000 });
}

/**
 * `ffmpeg -i URL -t SECONDS -map 0 -c copy OUT` under `timeout -s KILL` (ffmpeg's HLS/DASH
 * demuxers ignore SIGTERM while retrying a 404), and the codecs ffprobe finds in what it wrote,
 * sorted.
 */
export async function captureSegmented(
  url: string,
  out: string,
  seconds: number,
): Promise<{ code: number; stderr: string; codecs: string[] }> {
  const limit = Math.ceil(seconds) + 35;
  const got = await run("timeout", [
    ...["-s", "KILL", String(limit), "ffmpeg", "-v", "error", "-nostdin", "-i", url],
    ...["-t", String(seconds), "-map", "0", "-c", "copy", out],
  ], { timeout: (limit + 5) * 1000 });
  if (got.code !== 0) return { code: got.code, stderr: got.stderr, codecs: [] };
  const probe = await run("ffprobe", [
    ...["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", out],
  ]);
  return { code: 0, stderr: got.stderr, codecs: probe.stdout.trim().split("\n").sort() };
}
