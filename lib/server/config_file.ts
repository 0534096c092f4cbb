/**
 * The config file (`--config mkserver.json`): JSON or JSONC (comments and trailing commas) whose
 * keys are the long names of command-line flags, checked against the flags mkserver knows, and
 * turned back into arguments so the command line can be parsed once with the file's values
 * first (the command line, later, wins).
 *
 * @module
 */

import { parse as parseJsonc } from "@std/jsonc/parse";
import { errorMessage } from "../log.ts";

/**
 * A flag a config file may set: its long name (`port`, `log-level`) and its kind of value
 * (`strings`: a repeatable flag, set by a string or an array of strings).
 */
export interface ConfigFlag {
  name: string;
  type: "string" | "boolean" | "strings";
  /** A string flag that also takes an object of strings, read as `NAME=VALUE,…`. */
  map?: boolean;
}

/** An object of non-empty strings as `NAME=VALUE,…`, or why it cannot be one. */
function mapToText(value: object): string | { error: string } {
  const entries = Object.entries(value);
  if (entries.length === 0) return { error: "the object is empty" };
  for (const [name, text] of entries) {
    if (typeof text !== "string" || text === "") {
      return { error: `'${name}' is ${describe(text)}, not a non-empty string` };
    }
    if (/[,=]/.test(name) || text.includes(",")) {
      return { error: `'${name}' or its value holds a comma (or the name an '=')` };
    }
  }
  return entries.map(([name, text]) => `${name}=${text}`).join(",");
}

/** The values a config file sets, by flag name. */
export type ConfigValues = Record<string, string | boolean | string[]>;

/** Options of `parseConfig`. */
export interface ParseConfigOptions {
  /** The file's name as the user gave it, for messages (default `config file`). */
  path?: string;
}

/** A config file that cannot be read or holds a mistake: an unknown key or a bad value. */
export class ConfigFileError extends TypeError {
  /** The file, as the user named it. */
  readonly path: string;
  /** The key at fault, when one is. */
  readonly key: string | undefined;

  constructor(
    message: string,
    options: { path: string; key?: string; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "ConfigFileError";
    this.path = options.path;
    this.key = options.key;
  }
}

/**
 * The optimal string alignment distance of `a` and `b`: edits (insert, delete, substitute, swap
 * two neighbours) to turn one into the other. A swap counts as one so `prot` is near `port`.
 */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : i),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to `key`, if one is close enough to be what was meant. */
function closest(key: string, names: readonly string[]): string | undefined {
  // Case and separators are the usual slips (logLevel, log_level for log-level).
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = norm(name) === norm(key) ? 0 : editDistance(key, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Turns "… at position N" (std's JSONC errors) into "line L, column C" of `text`. */
function locate(message: string, text: string): string {
  const m = /^Cannot parse JSONC: (.*?)(?: in JSONC)?(?: at position (\d+))?$/
    .exec(message);
  if (!m) return message;
  // std quotes the token whatever it is (`""host""`, `","`): quote it once.
  const what = m[1].replace(
    /^unexpected token "(.*)"$/,
    (_, token: string) => `unexpected token ${token.startsWith('"') ? token : `'${token}'`}`,
  );
  if (m[2] === undefined) return what;
  const before = text.slice(0, Number(m[2]));
  const line = before.split("\n").length;
  const column = Number(m[2]) - before.lastIndexOf("\n");
  return `${what} at line ${line}, column ${column}`;
}

/**
 * Parses the text of a config file: a JSON or JSONC object whose keys are names in `flags`, with
 * a string for a string flag (numbers are taken too: `"port": 8080` gives `"8080"`) and `true` or
 * `false` for a boolean flag. Empty text sets nothing. Throws `ConfigFileError` naming the key
 * and the file for an unknown key (suggesting the closest known one) or a value of the wrong
 * type, and giving the line and column for invalid JSONC.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parseConfig } from "./config_file.ts";
 * const flags = [
 *   { name: "port", type: "string" },
 *   { name: "loop", type: "boolean" },
 * ] as const;
 * const text = `{
 *   // Behind nginx
 *   "port": 8080,
 *   "loop": true,
 * }`;
 * assertEquals(parseConfig(text, flags), { port: "8080", loop: true });
 * ```
 */
export function parseConfig(
  text: string,
  flags: readonly ConfigFlag[],
  options: ParseConfigOptions = {},
): ConfigValues {
  const path = options.path ?? "config file";
  // Editors on Windows may start the file with a byte order mark; JSON has no place for it.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  if (text.trim() === "") return {};
  let json: unknown;
  try {
    json = parseJsonc(text);
  } catch (error) {
    throw new ConfigFileError(
      `Invalid JSON in ${path}: ${locate(errorMessage(error), text)}`,
      { path, cause: error },
    );
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigFileError(
      `Invalid ${path}: expected an object of flags such as {"port": 8080}, got ${describe(json)}`,
      { path },
    );
  }
  const known = new Map(flags.map((f) => [f.name, f.type]));
  const maps = new Set(flags.filter((f) => f.map).map((f) => f.name));
  const values: ConfigValues = {};
  for (const [key, value] of Object.entries(json)) {
    const type = known.get(key);
    if (type === undefined) {
      const suggestion = closest(key, [...known.keys()]);
      throw new ConfigFileError(
        `Unknown key '${key}' in ${path}${
          suggestion === undefined ? "" : ` (did you mean '${suggestion}'?)`
        }`,
        { path, key },
      );
    }
    if (type === "boolean") {
      if (typeof value !== "boolean") {
        throw new ConfigFileError(
          `Invalid value for '${key}' in ${path}: expected a boolean (true or false), got ${
            describe(value)
          }`,
          { path, key },
        );
      }
      values[key] = value;
    } else if (type === "strings" && Array.isArray(value)) {
      values[key] = value.map((item) => {
        if (typeof item === "string" && item !== "") return item;
        throw new ConfigFileError(
          `Invalid value for '${key}' in ${path}: expected non-empty strings, got ${
            describe(item)
          } in the array`,
          { path, key },
        );
      });
    } else if (typeof value === "string" && value !== "") {
      values[key] = value;
    } else if (typeof value === "number" && Number.isFinite(value)) {
      values[key] = String(value);
    } else if (
      maps.has(key) && value !== null && typeof value === "object" && !Array.isArray(value)
    ) {
      const text = mapToText(value);
      if (typeof text !== "string") {
        throw new ConfigFileError(`Invalid value for '${key}' in ${path}: ${text.error}`, {
          path,
          key,
        });
      }
      values[key] = text;
    } else {
      throw new ConfigFileError(
        `Invalid value for '${key}' in ${path}: expected a ${
          value === "" ? "non-empty " : ""
        }string (or a number), got ${describe(value)}`,
        { path, key },
      );
    }
  }
  return values;
}

/**
 * Reads and checks a config file (see `parseConfig`). Throws `ConfigFileError` when the file
 * cannot be read, is not valid JSON or JSONC, or holds an unknown key or a bad value.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { loadConfigFile } from "./config_file.ts";
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(path, '{"port": 9000} // the admin port is 9001');
 * const values = await loadConfigFile(path, [{ name: "port", type: "string" }]);
 * assertEquals(values, { port: "9000" });
 * await Deno.remove(path);
 * ```
 */
export async function loadConfigFile(
  path: string,
  flags: readonly ConfigFlag[],
): Promise<ConfigValues> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : errorMessage(error);
    throw new ConfigFileError(`Cannot read config file ${path}: ${why}`, {
      path,
      cause: error,
    });
  }
  return parseConfig(text, flags, { path });
}

/**
 * Turns config values back into command-line arguments: `--key=value` for strings (the `=`
 * form, so a value starting with `-` stays a value), `--key` for `true`; `false` is left out
 * (it is every boolean flag's default). Parse `[...configToArgs(file), ...cliArgs]`: a flag
 * given on the command line comes later and wins.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { configToArgs } from "./config_file.ts";
 * assertEquals(
 *   configToArgs({ port: "8080", loop: true, "low-latency": false }),
 *   ["--port=8080", "--loop"],
 * );
 * ```
 */
export function configToArgs(values: ConfigValues): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === true) args.push(`--${key}`);
    else if (typeof value === "string") args.push(`--${key}=${value}`);
    else if (Array.isArray(value)) { for (const item of value) args.push(`--${key}=${item}`); }
  }
  return args;
}
