/**
 * `mkserver sign [--url-secret SECRET] [--expires D] PATH`: prints PATH signed until now + D, as
 * the path to give a viewer (`/s/EXPIRY/SIG/PATH`), on the last line of standard output.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { parse as parseJsonc } from "@std/jsonc/parse";
import { UsageError } from "../flag_parsers.ts";
import { scopeOf, UrlSigner, UrlSignerError } from "./url_signer.ts";

/** The text of `mkserver sign --help`. */
export const SIGN_USAGE = `Usage: mkserver sign [--url-secret SECRET] [--expires D] PATH

Prints PATH signed for viewers of a server started with the same --url-secret: the path
/s/EXPIRY/SIG/PATH, valid until now + D. A signature of /live/NAME (or of any path under it)
covers /live/NAME and everything under /live/NAME/ (HLS, DASH and their segments); one of
/, /stream or /player covers the default mount's paths. Changing the path's mount or the
expiry makes it fail with 403.

Options
  --url-secret SECRET  the server's --url-secret (also MKSERVER_URL_SECRET, or the
                       "url-secret" key of --config FILE)
  --expires D          how long it is valid: seconds, or 30s, 10m, 2h, 7d (default 1h)
  --config FILE        read url-secret from this config file
  -h, --help           show this help

Example
  mkserver sign --url-secret "$SECRET" --expires 60s /live/cam1/index.m3u8
`;

/** Parses `--expires`: seconds, or a number with `s`, `m`, `h` or `d`. */
export function parseExpires(text: string): number {
  const m = /^([1-9][0-9]{0,9})(s|m|h|d)?$/.exec(text);
  if (!m) {
    throw new UsageError(`Invalid --expires: '${text}' (expected e.g. 60, 60s, 10m, 2h or 7d)`);
  }
  const scale = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? "s"] ?? 1;
  return Number(m[1]) * scale;
}

/** Where `signCommand` writes, and its clock (for tests). */
export interface SignIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  env?: (name: string) => string | undefined;
  now?: number;
}

/** The secret: the flag, else the environment, else the config file's `url-secret` key. */
async function secretOf(
  parsed: { "url-secret"?: string; config?: string },
  env: (name: string) => string | undefined,
): Promise<string> {
  const secret = parsed["url-secret"] ?? env("MKSERVER_URL_SECRET");
  if (secret) return secret;
  if (parsed.config !== undefined) {
    // The server's file holds its other keys too: `sign` reads only url-secret.
    let value: unknown;
    try {
      value = parseJsonc(await Deno.readTextFile(parsed.config));
    } catch (error) {
      throw new UsageError(`Cannot read --config ${parsed.config}: ${(error as Error).message}`);
    }
    const found = (value as Record<string, unknown> | null)?.["url-secret"];
    if (typeof found === "string" && found !== "") return found;
    throw new UsageError(`${parsed.config} has no "url-secret"`);
  }
  throw new UsageError("no --url-secret given (nor MKSERVER_URL_SECRET)");
}

/**
 * Runs `mkserver sign` with `args`; resolves with the exit code (0, or throws `UsageError`).
 *
 * @example
 * ```ts
 * import { assertMatch } from "@std/assert";
 * import { signCommand } from "./sign_command.ts";
 * const lines: string[] = [];
 * await signCommand(["--url-secret", "x".repeat(32), "--expires", "60s", "/live/cam1"], {
 *   out: (line) => lines.push(line),
 *   err: () => {},
 * });
 * assertMatch(lines.at(-1)!, /^\/s\/[0-9]+\/[A-Za-z0-9_-]{43}\/live\/cam1$/);
 * ```
 */
export async function signCommand(args: readonly string[], io: SignIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? ((line: string) => console.error(line));
  const unknown: string[] = [];
  const parsed = parseArgs(args, {
    string: ["url-secret", "expires", "config"],
    boolean: ["help"],
    alias: { h: "help" },
    unknown: (arg: string) => {
      if (arg.startsWith("-")) unknown.push(arg);
      return !arg.startsWith("-");
    },
  });
  const text = (name: string): string | undefined => {
    const value = parsed[name];
    if (Array.isArray(value)) throw new UsageError(`--${name} given more than once`);
    return typeof value === "string" ? value : undefined;
  };
  if (parsed.help) {
    out(SIGN_USAGE);
    return 0;
  }
  if (unknown.length > 0) throw new UsageError(`Unknown option of sign: ${unknown[0]}`);
  const paths = parsed._.map(String);
  if (paths.length !== 1) throw new UsageError("sign needs one PATH, e.g. /live/cam1");
  const path = paths[0];
  const seconds = parseExpires(text("expires") ?? "1h");
  const env = io.env ?? ((name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  const secret = await secretOf({ "url-secret": text("url-secret"), config: text("config") }, env);
  const expiry = Math.floor((io.now ?? Date.now()) / 1000) + seconds;
  let signed: string;
  try {
    const signer = await UrlSigner.create(secret);
    signed = await signer.sign(path, expiry);
  } catch (error) {
    if (error instanceof UrlSignerError) throw new UsageError(error.message);
    throw error;
  }
  const scope = scopeOf(path);
  const covers = scope === "/" ? "the default mount (/, /stream, /player)" : `${scope}…`;
  err(`Valid until ${new Date(expiry * 1000).toISOString()} for ${covers}`);
  out(signed);
  return 0;
}
