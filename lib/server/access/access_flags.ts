/**
 * The values of the access flags (`--auth-url`, `--publish-tokens`, the IP lists), each parsed
 * with one message that shows the expected form when it is wrong.
 *
 * @module
 */

import { UsageError } from "../flag_parsers.ts";
import { IpList, IpSyntaxError } from "./ip_list.ts";

const MOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Parses an `http://` or `https://` URL. */
export function parseAuthUrl(s: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected an http:// or https:// URL)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected an http:// or https:// URL)`);
  }
  return url.href;
}

/** Parses a comma-separated list of CIDR blocks (IPv4 and IPv6). */
export function parseIpList(s: string, flag: string): IpList {
  try {
    return IpList.parse(s);
  } catch (error) {
    if (!(error instanceof IpSyntaxError)) throw error;
    throw new UsageError(
      `Invalid ${flag}: ${error.message} (expected CIDR blocks, e.g. 10.0.0.0/8,2001:db8::/32)`,
    );
  }
}

/**
 * Parses `NAME=TOKEN,NAME=TOKEN`: a source token per mount (a token may hold `=`, not `,`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { parsePublishTokens } from "./access_flags.ts";
 * const tokens = parsePublishTokens("cam1=s3cret,cam2=a=b", "--publish-tokens");
 * assertEquals([...tokens], [["cam1", "s3cret"], ["cam2", "a=b"]]);
 * ```
 */
export function parsePublishTokens(s: string, flag: string): ReadonlyMap<string, string> {
  const tokens = new Map<string, string>();
  for (const entry of s.split(",")) {
    const eq = entry.indexOf("=");
    const name = entry.slice(0, Math.max(eq, 0));
    const token = entry.slice(eq + 1);
    if (eq < 0 || !MOUNT_NAME.test(name) || token === "") {
      throw new UsageError(
        `Invalid ${flag}: '${entry}' (expected NAME=TOKEN,... with mount names such as cam1)`,
      );
    }
    if (tokens.has(name)) throw new UsageError(`Invalid ${flag}: mount ${name} is given twice`);
    tokens.set(name, token);
  }
  return tokens;
}
