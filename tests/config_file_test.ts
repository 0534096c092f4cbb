/**
 * The config file: JSON and JSONC, unknown keys and bad values named with the file, and the
 * arguments it turns into (merged with the command line, which wins).
 */

import { assertEquals, assertInstanceOf, assertRejects, assertThrows } from "@std/assert";
import {
  ConfigFileError,
  type ConfigFlag,
  configToArgs,
  loadConfigFile,
  parseConfig,
} from "../lib/server/config_file.ts";
import { parseArgs } from "@std/cli/parse-args";
import { applyConfigFile, parseCliOptions } from "../lib/server/cli_options.ts";

/** mkserver's flags as of this writing (the integrator passes the real list). */
const FLAGS: ConfigFlag[] = [
  { name: "port", type: "string" },
  { name: "host", type: "string" },
  { name: "loop", type: "boolean" },
  { name: "log-level", type: "string" },
  { name: "quiet", type: "boolean" },
  { name: "burst", type: "string" },
  { name: "low-latency", type: "boolean" },
  { name: "buffer", type: "string" },
  { name: "slow-policy", type: "string" },
  { name: "max-clients", type: "string" },
  { name: "webhook", type: "strings" },
];

function parseError(text: string, path = "mkserver.json"): ConfigFileError {
  const error = assertThrows(() => parseConfig(text, FLAGS, { path }));
  assertInstanceOf(error, ConfigFileError);
  assertInstanceOf(error, TypeError);
  assertEquals(error.path, path);
  return error;
}

Deno.test("parseConfig reads JSON with string, number and boolean values", () => {
  assertEquals(
    parseConfig(
      '{"port": 8080, "host": "127.0.0.1", "loop": true, "low-latency": false, "buffer": "20s,64MiB"}',
      FLAGS,
    ),
    {
      port: "8080",
      host: "127.0.0.1",
      loop: true,
      "low-latency": false,
      buffer: "20s,64MiB",
    },
  );
});

Deno.test("parseConfig reads JSONC: line and block comments, trailing commas", () => {
  const text = `// mkserver behind nginx
{
  /* the public port is nginx's */
  "port": "9000", // local only
  "host": "127.0.0.1",
  "log-level": "debug", /* while testing */
  "max-clients": 1.5e3,
}
`;
  assertEquals(parseConfig(text, FLAGS), {
    port: "9000",
    host: "127.0.0.1",
    "log-level": "debug",
    "max-clients": "1500",
  });
  // Comment markers inside strings are text.
  assertEquals(parseConfig('{"host": "a//b/*c*/"}', FLAGS), {
    host: "a//b/*c*/",
  });
});

Deno.test("parseConfig takes an empty file or a byte order mark", () => {
  assertEquals(parseConfig("", FLAGS), {});
  assertEquals(parseConfig("  \n", FLAGS), {});
  assertEquals(parseConfig("{}", FLAGS), {});
  assertEquals(parseConfig('\uFEFF{"port": 1}', FLAGS), { port: "1" });
});

Deno.test("parseConfig names an unknown key and the file, and suggests the closest known key", () => {
  assertEquals(
    parseError('{"prot": 8080}').message,
    "Unknown key 'prot' in mkserver.json (did you mean 'port'?)",
  );
  assertEquals(parseError('{"prot": 8080}').key, "prot");
  assertEquals(
    parseError('{"logLevel": "info"}').message,
    "Unknown key 'logLevel' in mkserver.json (did you mean 'log-level'?)",
  );
  assertEquals(
    parseError('{"low_latency": true}').message,
    "Unknown key 'low_latency' in mkserver.json (did you mean 'low-latency'?)",
  );
  assertEquals(
    parseError('{"max-client": "3"}').message,
    "Unknown key 'max-client' in mkserver.json (did you mean 'max-clients'?)",
  );
  assertEquals(
    parseError('{"--port": 1}', "/etc/mkserver.jsonc").message,
    "Unknown key '--port' in /etc/mkserver.jsonc (did you mean 'port'?)",
  );
  // Nothing close: no suggestion.
  assertEquals(
    parseError('{"tls-certificate": "x.pem"}').message,
    "Unknown key 'tls-certificate' in mkserver.json",
  );
  // The first unknown key is named even after good ones.
  assertEquals(parseError('{"port": 1, "hots": "x"}').key, "hots");
});

Deno.test("parseConfig names the key and the expected type for a bad value", () => {
  assertEquals(
    parseError('{"loop": "yes"}').message,
    `Invalid value for 'loop' in mkserver.json: expected a boolean (true or false), got string "yes"`,
  );
  assertEquals(parseError('{"loop": 1}').key, "loop");
  assertEquals(
    parseError('{"port": true}').message,
    "Invalid value for 'port' in mkserver.json: expected a string (or a number), got boolean true",
  );
  assertEquals(
    parseError('{"host": null}').message,
    "Invalid value for 'host' in mkserver.json: expected a string (or a number), got null",
  );
  assertEquals(
    parseError('{"host": ["a", "b"]}').message,
    "Invalid value for 'host' in mkserver.json: expected a string (or a number), got an array",
  );
  assertEquals(
    parseError('{"burst": {"gops": 2}}').message,
    "Invalid value for 'burst' in mkserver.json: expected a string (or a number), got an object",
  );
  assertEquals(
    parseError('{"host": ""}').message,
    `Invalid value for 'host' in mkserver.json: expected a non-empty string (or a number), got string ""`,
  );
});

Deno.test("parseConfig says where the JSON is broken and what the file must hold", () => {
  assertEquals(
    parseError('{\n  "port": 8080\n  "host": "x"\n}').message,
    `Invalid JSON in mkserver.json: unexpected token "host" at line 3, column 3`,
  );
  assertEquals(
    parseError('{"port": 8080,,}').message,
    "Invalid JSON in mkserver.json: unexpected token ',' at line 1, column 15",
  );
  assertEquals(
    parseError('{"port": 8080').message,
    "Invalid JSON in mkserver.json: unexpected end of JSONC input",
  );
  assertEquals(
    parseError('["--port", "8080"]').message,
    `Invalid mkserver.json: expected an object of flags such as {"port": 8080}, got an array`,
  );
  assertEquals(parseError("8080").message.endsWith("got number 8080"), true);
  assertEquals(parseError("null").message.endsWith("got null"), true);
});

Deno.test("loadConfigFile reads a file and names it in errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_config_" });
  try {
    const good = `${dir}/mkserver.jsonc`;
    await Deno.writeTextFile(
      good,
      '{\n  "port": 8081, // test\n  "loop": true,\n}\n',
    );
    assertEquals(await loadConfigFile(good, FLAGS), {
      port: "8081",
      loop: true,
    });
    const bad = `${dir}/mkserver.json`;
    await Deno.writeTextFile(bad, '{"prot": 8081}');
    await assertRejects(
      () => loadConfigFile(bad, FLAGS),
      ConfigFileError,
      `Unknown key 'prot' in ${bad} (did you mean 'port'?)`,
    );
    await assertRejects(
      () => loadConfigFile(`${dir}/missing.json`, FLAGS),
      ConfigFileError,
      `Cannot read config file ${dir}/missing.json: no such file`,
    );
    await assertRejects(
      () => loadConfigFile(dir, FLAGS),
      ConfigFileError,
      `Cannot read config file ${dir}: `,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configToArgs gives --key=value for strings, --key for true and nothing for false", () => {
  assertEquals(
    configToArgs({
      port: "8080",
      loop: true,
      "low-latency": false,
      host: "-odd",
      buffer: "a b",
    }),
    ["--port=8080", "--loop", "--host=-odd", "--buffer=a b"],
  );
  assertEquals(configToArgs({}), []);
});

/** Parses arguments as mkserver's command line does (std's parseArgs with FLAGS' kinds). */
function parseFlags(args: string[]) {
  return parseArgs(args, {
    string: FLAGS.filter((f) => f.type !== "boolean").map((f) => f.name),
    boolean: FLAGS.filter((f) => f.type === "boolean").map((f) => f.name),
    collect: FLAGS.filter((f) => f.type === "strings").map((f) => f.name),
  });
}

Deno.test("parseConfig takes a string or an array of strings for a repeatable flag", () => {
  const file = parseConfig('{"webhook": ["http://a/h", "http://b/h"]}', FLAGS);
  assertEquals(file, { webhook: ["http://a/h", "http://b/h"] });
  assertEquals(configToArgs(file), ["--webhook=http://a/h", "--webhook=http://b/h"]);
  assertEquals(parseFlags(configToArgs(file)).webhook, ["http://a/h", "http://b/h"]);
  assertEquals(parseConfig('{"webhook": "http://a/h"}', FLAGS), { webhook: "http://a/h" });
  assertEquals(
    parseError('{"webhook": ["http://a/h", 3]}').message,
    "Invalid value for 'webhook' in mkserver.json: expected non-empty strings, got number 3 in the array",
  );
  // An array is for repeatable flags only.
  assertEquals(parseError('{"port": [1, 2]}').key, "port");
});

Deno.test("configToArgs merges with the command line, which wins", () => {
  const file = parseConfig(
    '{"port": 9000, "host": "127.0.0.1", "low-latency": true, "burst": "2s", "buffer": "-1"}',
    FLAGS,
  );
  const fromFile = parseFlags([...configToArgs(file), "in.webm"]);
  assertEquals(fromFile.port, "9000");
  assertEquals(fromFile.host, "127.0.0.1");
  assertEquals(fromFile["low-latency"], true);
  assertEquals(fromFile.loop, false);
  assertEquals(fromFile.burst, "2s");
  // The = form keeps a value that looks like a flag a value.
  assertEquals(fromFile.buffer, "-1");
  assertEquals(fromFile._, ["in.webm"]);
  const overridden = parseFlags([
    ...configToArgs(file),
    "--port",
    "7000",
    "--burst=3",
    "--loop",
    "in.webm",
  ]);
  assertEquals(overridden.port, "7000");
  assertEquals(overridden.burst, "3");
  assertEquals(overridden.loop, true);
  assertEquals(overridden.host, "127.0.0.1");
});

Deno.test("parseConfig takes an object of strings for a map flag, as NAME=VALUE,…, and names what is wrong in one", () => {
  const flags: ConfigFlag[] = [
    { name: "publish-tokens", type: "string", map: true },
    { name: "host", type: "string" },
  ];
  const text = '{"publish-tokens": {"cam1": "a=b", "cam2": "c"}}';
  assertEquals(parseConfig(text, flags), { "publish-tokens": "cam1=a=b,cam2=c" });
  assertEquals(parseConfig('{"publish-tokens": "cam1=x"}', flags), { "publish-tokens": "cam1=x" });
  const bad: [string, string][] = [
    ['{"publish-tokens": {}}', "the object is empty"],
    ['{"publish-tokens": {"cam1": 5}}', "'cam1' is number 5, not a non-empty string"],
    ['{"publish-tokens": {"cam1": "a,b"}}', "holds a comma"],
    ['{"publish-tokens": ["cam1=a"]}', "got an array"],
    ['{"host": {"a": "b"}}', "got an object"],
  ];
  for (const [json, message] of bad) {
    const error = assertThrows(() => parseConfig(json, flags), ConfigFileError);
    assertEquals(error.message.includes(message), true, `${json}: ${error.message}`);
  }
});

Deno.test("applyConfigFile: --no-X on the command line beats the file's X: true", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_config_" });
  try {
    const path = `${dir}/mkserver.json`;
    await Deno.writeTextFile(path, '{"reconnect": true, "port": 9000}');
    const cli = await applyConfigFile(["--config", path, "--no-reconnect", "http://127.0.0.1:1/"]);
    const options = parseCliOptions(cli);
    assertEquals(options.reconnect, false);
    assertEquals(options.port, 9000);
    const file = parseCliOptions(await applyConfigFile(["--config", path, "http://127.0.0.1:1/"]));
    assertEquals(file.reconnect, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
