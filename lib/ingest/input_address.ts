/**
 * What an INPUT names: standard input, a file, an http(s) URL to pull, or a tcp:// address to
 * listen on. The one place that tells them apart, for the CLI's checks and for opening it.
 *
 * @module
 */

/** A parsed INPUT. */
export type InputAddress =
  | { kind: "stdin" }
  | { kind: "file"; path: string }
  | { kind: "http"; url: string }
  | { kind: "tcp"; hostname: string; port: number };

/** Anything that starts like a URL (`scheme://`), as RFC 3986 §3.1 spells a scheme. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

const HTTP = /^https?:\/\//i;

/** `tcp://HOST:PORT`, HOST a name, an IPv4 address or a bracketed IPv6 one. */
const TCP = /^tcp:\/\/(?:\[([^\]]+)\]|([^:/]+)):(\d{1,5})\/?$/i;

/**
 * Parses an INPUT: `-` is standard input, `http://` and `https://` a pull, `tcp://HOST:PORT` a
 * listener, anything else without a scheme a file. Throws `TypeError` for another scheme or a
 * tcp:// address without a host and port.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseInputAddress } from "./input_address.ts";
 * assertEquals(parseInputAddress("-"), { kind: "stdin" });
 * assertEquals(parseInputAddress("tcp://[::1]:9000"), { kind: "tcp", hostname: "::1", port: 9000 });
 * assertEquals(parseInputAddress("a.webm"), { kind: "file", path: "a.webm" });
 * assertThrows(() => parseInputAddress("rtmp://host/live"), TypeError, "Unsupported input URL scheme");
 * ```
 */
export function parseInputAddress(input: string): InputAddress {
  if (input === "-") return { kind: "stdin" };
  if (!URL_SCHEME.test(input)) return { kind: "file", path: input };
  if (HTTP.test(input)) return { kind: "http", url: input };
  if (!/^tcp:/i.test(input)) {
    throw new TypeError(
      `Unsupported input URL scheme: ${input} (expected http://, https:// or tcp://)`,
    );
  }
  const tcp = TCP.exec(input);
  if (!tcp) throw new TypeError(`Invalid tcp:// input: ${input} (expected tcp://HOST:PORT)`);
  return { kind: "tcp", hostname: tcp[1] ?? tcp[2], port: Number(tcp[3]) };
}
