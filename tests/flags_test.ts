// The flag table drives parseArgs, --help and the config keys: what --help says about a flag is
// what parses, and an absent flag gets the library's own default.
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { DEFAULT_IDLE_TIMEOUT } from "../lib/ingest/_timing.ts";
import { DEFAULT_LOG_LEVEL } from "../lib/log.ts";
import {
  applyConfigFile,
  BOOLEAN_FLAGS,
  CONFIG_KEYS,
  parseCliOptions,
  STRING_FLAGS,
  UsageError,
} from "../lib/server/cli_options.ts";
import { FLAG, FLAGS } from "../lib/server/flags.ts";
import {
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
} from "../lib/server/http/http_server_options.ts";
import { flagSynopsis, USAGE } from "../lib/server/usage.ts";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION } from "../lib/stream/gop_ring.ts";
import { DEFAULT_GRACE } from "../lib/stream/mount_registry.ts";

Deno.test("FLAGS: --help lists every flag, once, with the default it parses to", () => {
  for (const flag of FLAGS) {
    // The text beside the name, or (a long name) on the lines under it.
    const name = `  ${flagSynopsis(flag)}`;
    const lines = USAGE.split("\n").filter((l) => l === name || l.startsWith(`${name} `));
    assertEquals(lines.length, 1, `--help lists ${flagSynopsis(flag)} once`);
    if (flag.kind === "string" && flag.default !== undefined) {
      const said = flag.help.some((l) => l.includes("{default}"))
        ? `default ${flag.default}`
        : `${flag.default} (`; // "skip (jump to the newest keyframe, the default)"
      assertStringIncludes(USAGE, said, `--${flag.name}'s default`);
      flag.parse(flag.default, `--${flag.name}`); // the default is a value the flag takes
    }
  }
  assertEquals(new Set(FLAGS.map((f) => f.name)).size, FLAGS.length);
  assertStringIncludes(USAGE, "  --no-reconnect       end when an http(s) INPUT drops");
  assertStringIncludes(USAGE, "  -q, --quiet          log errors only");
  assertStringIncludes(USAGE, "  --buffer SPEC        the shared buffer's bounds");
  assertStringIncludes(USAGE, "(default 20s,64MiB)");
  assertStringIncludes(USAGE, "  --max-connections-per-ip N\n                       most open");
});

Deno.test("parseCliOptions gives an absent flag the library's default", () => {
  const o = parseCliOptions(["x.webm"]);
  assertEquals(o.bufferMs, DEFAULT_MAX_DURATION);
  assertEquals(o.bufferBytes, DEFAULT_MAX_BYTES);
  assertEquals(o.sourceGrace, DEFAULT_GRACE);
  assertEquals(o.sourceTimeout, DEFAULT_IDLE_TIMEOUT);
  assertEquals(o.logLevel, DEFAULT_LOG_LEVEL);
  assertEquals([o.port, o.host, o.maxClients, o.stallTimeout], [8080, "0.0.0.0", 0, 30_000]);
  assertEquals([o.headerTimeout, o.keepAliveTimeout, o.maxConnectionsPerIp], [
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    0,
  ]);
  assertEquals([o.burst, o.slowPolicy, o.reconnect], [{ gops: 1 }, "skip", true]);
  assertEquals(o.address, { kind: "file", path: "x.webm" });
  // One bound of --buffer keeps the other's default.
  assertEquals(parseCliOptions(["--buffer", "5s", "x"]).bufferBytes, DEFAULT_MAX_BYTES);
  assertEquals(parseCliOptions(["--buffer", "8MiB", "x"]).bufferMs, DEFAULT_MAX_DURATION);
});

Deno.test("parseCliOptions takes the table's kinds, aliases and --no- forms", () => {
  assertEquals(STRING_FLAGS.includes("config"), false); // applyConfigFile takes it out first
  assertEquals(new Set([...STRING_FLAGS, ...BOOLEAN_FLAGS, "config"]).size, FLAGS.length);
  const o = parseCliOptions(["-q", "--no-reconnect", "--port=0", "http://h/s"]);
  assertEquals([o.logLevel, o.reconnect, o.port], ["error", false, 0]);
  assertEquals(parseCliOptions(["-h"]).help, true);
  assertEquals(parseCliOptions(["-V"]).version, true);
  assertThrows(() => parseCliOptions(["--config", "c.json"]), UsageError, "--config");
});

Deno.test("CONFIG_KEYS: a config file sets every flag but --help, --version and --config, and INPUT", () => {
  const keys = CONFIG_KEYS.map((k) => k.name);
  for (const name of ["help", "version", "config"]) assertEquals(keys.includes(name), false);
  assertEquals(keys.includes("input"), true);
  assertEquals(keys.length, FLAGS.length - 3 + 1);
  const kinds = Object.fromEntries(CONFIG_KEYS.map((k) => [k.name, k.type]));
  assertEquals([kinds.port, kinds.loop, kinds["low-latency"]], ["string", "boolean", "boolean"]);
  assertEquals(FLAG.sourceGrace.default, String(DEFAULT_GRACE / 1000));
});

Deno.test("parseCliOptions checks INPUT once: its scheme, a tcp:// address, and the flags that need a kind", () => {
  assertEquals(parseCliOptions(["-"]).address, { kind: "stdin" });
  assertEquals(parseCliOptions([]).address, { kind: "stdin" });
  assertEquals(parseCliOptions(["HTTPS://h/s"]).address, { kind: "http", url: "HTTPS://h/s" });
  assertEquals(parseCliOptions(["tcp://[::1]:9000/"]).address, {
    kind: "tcp",
    hostname: "::1",
    port: 9000,
  });
  const bad: [string[], string][] = [
    [["rtmp://h/live"], "Unsupported input URL scheme: rtmp://h/live"],
    [["tcp://h"], "Invalid tcp:// input: tcp://h (expected tcp://HOST:PORT)"],
    [["tcp://:9000"], "Invalid tcp:// input"],
    [["--loop", "-"], "--loop needs a FILE input"],
    [["--loop", "http://h/s"], "--loop needs a FILE input"],
    [["--loop", "rtmp://h/live"], "--loop needs a FILE input"],
    [["--relay-all", "tcp://h:1"], "--relay-all needs an http(s):// INPUT"],
  ];
  for (const [args, message] of bad) {
    assertThrows(() => parseCliOptions(args), UsageError, message);
  }
});

Deno.test("parseCliOptions takes --webhook several times, in order, and checks each URL", () => {
  const none = parseCliOptions(["x.webm"]);
  assertEquals([none.webhooks, none.webhookSecret, none.webhookQueue], [[], undefined, 10_000]);
  const o = parseCliOptions([
    "--webhook",
    "http://a.example/hook",
    "--webhook=https://b.example:8443/h?k=1",
    "--webhook-secret=s",
    "--webhook-queue=50",
    "x.webm",
  ]);
  assertEquals(o.webhooks, ["http://a.example/hook", "https://b.example:8443/h?k=1"]);
  assertEquals([o.webhookSecret, o.webhookQueue], ["s", 50]);
  assertEquals(CONFIG_KEYS.find((k) => k.name === "webhook")?.type, "strings");
  const bad: [string[], string][] = [
    [["--webhook", "ftp://h/x", "x"], "Invalid --webhook: 'ftp://h/x' (expected an http:// or"],
    [["--webhook", "http://ok/", "--webhook", "nope", "x"], "Invalid --webhook: 'nope'"],
    [["--webhook=", "x"], "--webhook needs a value"],
    [["--webhook-secret", "s", "x"], "--webhook-secret needs --webhook"],
    [["--webhook", "http://h/", "--webhook-queue", "0", "x"], "expected at least 1"],
  ];
  for (const [args, message] of bad) {
    assertThrows(() => parseCliOptions(args), UsageError, message);
  }
});

Deno.test("applyConfigFile: a config file's webhook list is replaced by --webhook on the command line", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, '{"webhook": ["http://a.example/1", "http://a.example/2"]}');
    const fromFile = parseCliOptions(await applyConfigFile(["--config", path, "x.webm"]));
    assertEquals(fromFile.webhooks, ["http://a.example/1", "http://a.example/2"]);
    const cli = ["--config", path, "--webhook", "http://b.example/", "x.webm"];
    assertEquals(parseCliOptions(await applyConfigFile(cli)).webhooks, ["http://b.example/"]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseCliOptions refuses a flag given twice, in either form, but repeats --webhook", () => {
  for (
    const args of [
      ["--port", "1", "--port", "2", "x.mkv"],
      ["--port=1", "--port", "2", "x.mkv"],
      ["--buffer", "10", "--buffer=20", "x.mkv"],
    ]
  ) {
    const error = assertThrows(() => parseCliOptions(args), UsageError);
    assertStringIncludes(error.message, "given more than once");
  }
  const once = parseCliOptions(["--port", "9", "x.mkv"]);
  assertEquals(once.port, 9);
  const hooks = parseCliOptions([
    "--webhook",
    "http://127.0.0.1:1/a",
    "--webhook",
    "http://127.0.0.1:1/b",
    "x.mkv",
  ]);
  assertEquals(hooks.webhooks?.length, 2);
});
