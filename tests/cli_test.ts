/**
 * The `mkserver` command line, run as a real process (`deno run main.ts`): usage, version,
 * exit codes and the one-line errors of runtime failures.
 *
 * Every run that could get as far as listening passes `--port 0`, so tests in parallel files
 * never fight over a port.
 */

import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertLess,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import denoJson from "../deno.json" with { type: "json" };
import { CliServer, fixturePath, run, runCli } from "./_cli.ts";

/** A stack frame as V8 prints it ("    at main (file:///…)"). */
const STACK_FRAME = /^\s+at /m;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** Asserts a bad-usage exit: code 2, a message on stderr naming the mistake, nothing else. */
function assertUsageError(
  result: { code: number; stdout: string; stderr: string },
  message: string,
): void {
  assertEquals(result.code, 2, `stderr:\n${result.stderr}`);
  assertEquals(result.stdout, "");
  assertStringIncludes(result.stderr, message);
  assertStringIncludes(result.stderr, "mkserver --help");
  assertNotMatch(result.stderr, STACK_FRAME);
  // It failed before listening or opening anything.
  assertNotMatch(result.stderr, /Serving/);
}

/**
 * Asserts a runtime failure: code 1 and exactly one ERROR line containing `message`, with no
 * stack trace and no uncaught-error report.
 */
function assertRuntimeError(
  result: { code: number; stdout: string; stderr: string },
  message: string,
): string {
  assertEquals(result.code, 1, `stderr:\n${result.stderr}`);
  assertEquals(result.stdout, "");
  const errors = lines(result.stderr).filter((line) => / ERROR /.test(line));
  assertEquals(
    errors.length,
    1,
    `expected one ERROR line, got:\n${result.stderr}`,
  );
  assertStringIncludes(errors[0], message);
  assertNotMatch(result.stderr, STACK_FRAME);
  assertNotMatch(result.stderr, /Uncaught/);
  return errors[0];
}

Deno.test("`mkserver --help` prints the usage on stdout and exits 0", async () => {
  for (const flag of ["--help", "-h"]) {
    const result = await runCli([flag]);
    assertEquals(result.code, 0, `${flag}: stderr:\n${result.stderr}`);
    assertEquals(result.stderr, "");
    assertMatch(result.stdout, /^Usage: mkserver /);
    assertStringIncludes(result.stdout, "--port");
    assertStringIncludes(result.stdout, "INPUT");
  }
});

Deno.test("`mkserver --version` prints `mkserver 0.1.0` and exits 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const result = await runCli([flag]);
    assertEquals(result.code, 0, `${flag}: stderr:\n${result.stderr}`);
    assertEquals(result.stdout, `mkserver ${denoJson.version}\n`);
    assertEquals(result.stdout, "mkserver 0.1.0\n");
    assertEquals(result.stderr, "");
  }
});

Deno.test("`mkserver` exits 2 on an unknown option", async () => {
  const result = await runCli(["--bogus", fixturePath("sample.webm")]);
  assertUsageError(result, "Unknown option: --bogus");
});

Deno.test("`mkserver` exits 2 on a non-numeric --port", async () => {
  const result = await runCli(["--port", "abc", fixturePath("sample.webm")]);
  assertUsageError(result, "Invalid --port: 'abc'");
});

Deno.test("`mkserver` exits 2 on a --port above 65535", async () => {
  const result = await runCli(["--port", "70000", fixturePath("sample.webm")]);
  assertUsageError(result, "Invalid --port: '70000'");
});

Deno.test("`mkserver` exits 2 when given two inputs", async () => {
  const result = await runCli([
    "--port",
    "0",
    fixturePath("sample.webm"),
    fixturePath("audio_only.webm"),
  ]);
  assertUsageError(result, "Expected one INPUT, got 2");
});

Deno.test("`mkserver` exits 1 with one log line when the input file does not exist", async () => {
  const missing = fixturePath("no_such_file.webm");
  const result = await runCli(["--port", "0", missing]);
  const error = assertRuntimeError(result, "no such file");
  assertStringIncludes(error, missing);
  // Nothing else: it fails before listening.
  assertEquals(lines(result.stderr), [error]);
});

Deno.test("`mkserver` exits 1 with one error line when the input is a text file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_cli_" });
  try {
    const path = `${dir}/notes.txt`;
    await Deno.writeTextFile(path, "This is not a video.\nNot at all.\n");
    const result = await runCli(["--port", "0", path]);
    const error = assertRuntimeError(result, "not Matroska");
    assertStringIncludes(error, "looks like text");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver` exits 1 with one error line when the input file is empty", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_cli_" });
  try {
    const path = `${dir}/empty.webm`;
    await Deno.writeFile(path, new Uint8Array(0));
    const result = await runCli(["--port", "0", path]);
    assertRuntimeError(result, "empty");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver` remuxes an MP4 input with ffmpeg, and without ffmpeg exits 1 with one line saying so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_cli_" });
  try {
    const path = `${dir}/out.mp4`;
    let made;
    for (const codec of ["libx264", "mpeg4"]) {
      made = await run("ffmpeg", [
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x64:rate=5",
        // Long enough to outlast the viewer's connect on a loaded machine: a file input ends
        // the server once it has been played out and no viewer is left.
        "-t",
        "5",
        "-c:v",
        codec,
        "-y",
        path,
      ]);
      if (made.code === 0) break;
    }
    assertEquals(
      made?.code,
      0,
      `ffmpeg could not make an MP4:\n${made?.stderr}`,
    );
    // Without ffmpeg on PATH: one clear line naming what was found and what is needed.
    const without = await runCli(["--port", "0", path], { env: { PATH: "/nonexistent" } });
    const error = assertRuntimeError(without, "install ffmpeg");
    assertStringIncludes(error, "mp4");
    // With ffmpeg: served as Matroska; the file is played to its end and the server exits 0.
    await using server = await CliServer.start(["--port", "0", path]);
    const response = await fetch(server.url());
    assertEquals(response.headers.get("content-type"), "video/x-matroska");
    const body = new Uint8Array(await response.arrayBuffer());
    assertEquals(Array.from(body.subarray(0, 4)), [0x1A, 0x45, 0xDF, 0xA3]);
    assertEquals(await server.exit(), 0);
    assertStringIncludes(server.log, "remuxing it with ffmpeg");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver` exits 1 with one log line when the port is already in use", async () => {
  // Listen on the wildcard address, as mkserver does by default.
  using listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const port = listener.addr.port;
  const result = await runCli([
    "--port",
    String(port),
    fixturePath("sample.webm"),
  ]);
  const error = assertRuntimeError(result, "already in use");
  assertStringIncludes(error, `:${port}`);
  assertEquals(lines(result.stderr), [error]);
});

Deno.test("`mkserver` serves a truncated file to its end, warns about the cut and exits 0", async () => {
  const result = await runCli(["--port", "0", fixturePath("truncated.webm")], {
    timeout: 20_000,
  });
  assertEquals(result.code, 0, `stderr:\n${result.stderr}`);
  const log = lines(result.stderr);
  const warnings = log.filter((line) => / WARN /.test(line));
  assertEquals(warnings.length, 1, `stderr:\n${result.stderr}`);
  assertMatch(warnings[0], /WARN Input ended mid-element/);
  assertStringIncludes(warnings[0], "ending the stream there");
  assertEquals(log.filter((line) => / ERROR /.test(line)), []);
  assertNotMatch(result.stderr, STACK_FRAME);
  // Everything up to the cut was read.
  assertStringIncludes(result.stderr, "Input ended after 185604 bytes");
});

Deno.test("`mkserver` exits 0 by itself after a short file when no viewer is connected", async () => {
  // audio_only.webm lasts 5 s; the first 2 s go at once (preroll), the rest in real time.
  await using server = await CliServer.start([
    "--port",
    "0",
    fixturePath("audio_only.webm"),
  ]);
  const started = performance.now();
  const code = await server.exit(15_000);
  const seconds = (performance.now() - started) / 1000;
  assertEquals(code, 0, server.log);
  assertGreaterOrEqual(seconds, 2, `exited after ${seconds} s: too early`);
  assertLess(seconds, 8, `exited after ${seconds} s: too late`);
  assertStringIncludes(server.log, "Input ended after 40732 bytes");
  assert(
    !server.lines.some((line) => / (ERROR|WARN) /.test(line)),
    server.log,
  );
});

Deno.test("`mkserver --max-clients 1` answers the second viewer 503 with Retry-After", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--max-clients",
    "1",
    fixturePath("sample.webm"),
  ]);
  const first = await fetch(server.url());
  assertEquals(first.status, 200);
  const reader = first.body!.getReader();
  await reader.read();
  const second = await fetch(server.url());
  assertEquals(second.status, 503);
  assertEquals(second.headers.get("retry-after"), "10");
  await second.body?.cancel();
  await reader.cancel();
  server.kill("SIGTERM");
  assertEquals(await server.exit(), 0);
});

Deno.test("`mkserver --config` takes settings from a JSONC file, with the command line winning", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/mkserver.jsonc`;
    await Deno.writeTextFile(
      path,
      `{
        // settings a user keeps in a file
        "port": 1, // overridden below
        "max-clients": 1,
        "input": ${JSON.stringify(fixturePath("sample.webm"))},
      }`,
    );
    await using server = await CliServer.start(["--config", path, "--port", "0"]);
    const first = await fetch(server.url());
    assertEquals(first.status, 200);
    const second = await fetch(server.url());
    assertEquals(second.status, 503, "max-clients came from the file");
    await second.body?.cancel();
    await first.body?.cancel();
    server.kill("SIGTERM");
    assertEquals(await server.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver --config` exits 2 naming an unknown key, a bad value or a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/typo.json`, `{"prot": 8080}`);
    await Deno.writeTextFile(`${dir}/type.json`, `{"loop": "yes"}`);
    const typo = await runCli(["--config", `${dir}/typo.json`]);
    assertEquals(typo.code, 2);
    assertStringIncludes(typo.stderr, "'prot'");
    assertStringIncludes(typo.stderr, "did you mean 'port'");
    const type = await runCli(["--config", `${dir}/type.json`]);
    assertEquals(type.code, 2);
    assertStringIncludes(type.stderr, "'loop'");
    const missing = await runCli(["--config", `${dir}/none.json`]);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, "no such file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver URL` exits 1 with one log line, before listening, when the URL does not answer", async () => {
  // A port nothing listens on: bind one, note it, close it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const url = `http://127.0.0.1:${port}/stream`;
  const result = await runCli(["--port", "0", "--no-reconnect", url]);
  const error = assertRuntimeError(result, `Cannot open input ${url}`);
  assertEquals(lines(result.stderr), [error]);
});

Deno.test("`mkserver URL` shows the pull in /status while it is live, and with --no-reconnect exits 0 when it ends", async () => {
  const fixture = await Deno.readFile(fixturePath("sample.webm"));
  const end = Promise.withResolvers<void>();
  const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(fixture);
          await end.promise; // held open until the test has looked at /status
          controller.close();
        },
      }),
    ));
  try {
    const url = `http://127.0.0.1:${origin.addr.port}/stream`;
    await using server = await CliServer.start(["--port", "0", "--no-reconnect", url]);
    assertStringIncludes(server.log, `Serving ${url} at`);
    const status = await (await fetch(server.url("/status"))).json();
    const relay = status.mounts.find((m: { name: string }) => m.name === "stream")?.relay;
    assertEquals([relay?.url, relay?.state, relay?.reconnects], [url, "live", 0]);
    end.resolve();
    assertEquals(await server.exit(), 0);
    assertMatch(server.log, /Input ended after \d+ bytes/);
  } finally {
    end.resolve();
    await origin.shutdown();
  }
});
