// Operating mkserver: Prometheus text, config precedence, and a clean stop with viewers.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { applyConfigFile, parseCliOptions } from "../lib/server/cli_options.ts";
import { createHandler } from "../lib/server/handler.ts";
import { Mount } from "../lib/stream/mount.ts";
import { CliServer, fixturePath, run } from "./_cli.ts";
import { demux, readFixture } from "./_util.ts";

Deno.test("/metrics parses as Prometheus text line by line, and /status counts the viewers", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream");
  mount.setHeader(header);
  for (const b of blocks.slice(0, 100)) mount.pushBlock(b);
  const handler = createHandler(mount);
  const viewers = [
    await handler(new Request("http://x/stream")),
    await handler(new Request("http://x/stream")),
  ];
  const status = await (await handler(new Request("http://x/status"))).json();
  assertEquals(status.mounts[0].viewers, 2);
  assertEquals(status.mounts[0].clients.length, 2);
  const text = await (await handler(new Request("http://x/metrics"))).text();
  const typed = new Map<string, string>();
  let samples = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/
      .exec(line);
    if (help) continue;
    if (type) {
      typed.set(type[1], type[2]);
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/
        .exec(line);
    assert(sample, `not Prometheus text: ${line}`);
    assert(typed.has(sample[1]), `sample before its TYPE line: ${line}`);
    if (typed.get(sample[1]) === "counter") assert(Number(sample[3]) >= 0);
    samples++;
  }
  assert(samples >= 10);
  assertMatch(text, /^mkserver_viewers\{mount="stream"\} 2$/m);
  for (const v of viewers) await v.body?.cancel();
});

Deno.test("--config: the file sets the port, the command line overrides it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/c.jsonc`,
      `{ "port": 9123, /* a comment */ "low-latency": true }`,
    );
    const fromFile = parseCliOptions(
      await applyConfigFile(["--config", `${dir}/c.jsonc`, "x.webm"]),
    );
    assertEquals([fromFile.port, fromFile.lowLatency], [9123, true]);
    const overridden = parseCliOptions(
      await applyConfigFile(["--config", `${dir}/c.jsonc`, "--port", "7000", "x.webm"]),
    );
    assertEquals([overridden.port, overridden.lowLatency], [7000, true]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM with viewers connected: every capture ends cleanly (mkvinfo passes) and mkserver exits 0", async () => {
  await using server = await CliServer.start(["--port", "0", "--loop", fixturePath("sample.webm")]);
  const captures = [0, 1].map(async () =>
    new Uint8Array(await (await fetch(server.url())).arrayBuffer())
  );
  await new Promise((r) => setTimeout(r, 2500));
  server.kill("SIGTERM");
  const dir = await Deno.makeTempDir();
  try {
    for (const [i, capture] of captures.entries()) {
      const bytes = await capture; // the chunked body ended with its last chunk, not a reset
      assert(bytes.length > 10_000);
      await Deno.writeFile(`${dir}/${i}.webm`, bytes);
      const info = await run("mkvinfo", [`${dir}/${i}.webm`]);
      assertEquals(info.code, 0, info.stdout + info.stderr);
      // Whole Clusters only: the stream was ended, not cut.
      assertEquals(demux(bytes).blocks.length > 0, true);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(await server.exit(), 0);
});
