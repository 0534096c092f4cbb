/**
 * Signed, expiring URLs: `/s/EXPIRY/SIG/PATH`, where SIG is an HMAC-SHA256 (WebCrypto) over the
 * expiry and the *scope* of PATH, not the path itself. The scope of `/live/NAME` and of
 * everything under `/live/NAME/` is `/live/NAME/`, so every playlist, init, segment and part a
 * signed HLS or DASH viewer reaches through the relative URLs in its playlists stays under the
 * same signed prefix; the scope of the default mount's paths (`/`, `/stream…`, `/player`) is `/`.
 * A CDN caches by path, and Safari's native HLS, which adds no header or query to segment
 * requests, carries the signature with every request.
 *
 * @module
 */

/** A secret too short, or a path that cannot be signed. */
export class UrlSignerError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UrlSignerError";
  }
}

/** The shortest `--url-secret` taken: HMAC keys shorter than the hash weaken it (RFC 2104 §3). */
export const MIN_SECRET_LENGTH = 32;

const encoder = new TextEncoder();
const MOUNT_PATH = /^\/live\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:\/.*)?$/;
const DEFAULT_PATHS = new Set(["/", "/stream", "/stream.mkv", "/stream.webm", "/player"]);
/** `/s/EXPIRY/SIG/PATH`: EXPIRY in Unix seconds, SIG 32 bytes in unpadded base64url. */
const SIGNED = /^\/s\/([0-9]{1,12})\/([A-Za-z0-9_-]{43})(\/.*)$/;

/**
 * The scope a signature covers for `path`: `/live/NAME/` for a mount's paths, `/` for the
 * default mount's; undefined for any other path (those are not guarded, or not signable).
 */
export function scopeOf(path: string): string | undefined {
  const mount = MOUNT_PATH.exec(path);
  if (mount) return `/live/${mount[1]}/`;
  return DEFAULT_PATHS.has(path) ? "/" : undefined;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes base64url, undefined unless `text` is the canonical encoding of what it decodes to. */
function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return undefined;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // The last character carries unused bits: another value of them would decode the same.
  return base64url(bytes) === text ? bytes : undefined;
}

function message(expiry: number, scope: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(`mkserver-url-v1\n${expiry}\n${scope}`);
}

/** What `verify` found in a signed path. */
export type SignedPath =
  /** Signed and not expired: `path` is the path below the prefix, `prefix` the `/s/…/…` part. */
  | { ok: true; path: string; prefix: string; scope: string; expiry: number }
  /** Signed wrongly, for another scope, or expired: answer 403 with `reason`. */
  | { ok: false; path: string; prefix: string; reason: string };

/**
 * Signs and verifies `/s/EXPIRY/SIG/PATH` URLs with one secret.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { UrlSigner } from "./url_signer.ts";
 * const signer = await UrlSigner.create("0123456789abcdef0123456789abcdef");
 * const signed = await signer.sign("/live/cam1", Math.floor(Date.now() / 1000) + 60);
 * const found = await signer.verify(signed.replace("/live/cam1", "/live/cam1/index.m3u8"));
 * assert(found?.ok);
 * assertEquals(found.path, "/live/cam1/index.m3u8");
 * const other = await signer.verify(signed.replace("cam1", "cam2"));
 * assertEquals(other?.ok, false);
 * ```
 */
export class UrlSigner {
  #key: CryptoKey;

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** Imports `secret` as an HMAC-SHA256 key. Throws `UrlSignerError` when it is too short. */
  static async create(secret: string): Promise<UrlSigner> {
    if (encoder.encode(secret).length < MIN_SECRET_LENGTH) {
      throw new UrlSignerError(
        `The URL secret is too short: at least ${MIN_SECRET_LENGTH} bytes are needed`,
      );
    }
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new UrlSigner(key);
  }

  /**
   * `path` signed until `expiry` (Unix seconds). Throws `UrlSignerError` for a path that is not
   * a mount's (`/live/NAME…`) or the default mount's, or that has a query.
   */
  async sign(path: string, expiry: number): Promise<string> {
    const scope = /[?#]/.test(path) ? undefined : scopeOf(path);
    if (scope === undefined) {
      throw new UrlSignerError(
        `Cannot sign '${path}': expected /live/NAME, a path under it, or /, /stream, /player`,
      );
    }
    if (!Number.isSafeInteger(expiry) || expiry < 0 || expiry >= 1e12) {
      throw new UrlSignerError(`Invalid expiry: ${expiry}`);
    }
    const sig = await crypto.subtle.sign("HMAC", this.#key, message(expiry, scope));
    return `/s/${expiry}/${base64url(new Uint8Array(sig))}${path}`;
  }

  /**
   * Checks a request path: undefined when it is not a signed path (`/s/…`) at all, else what
   * was found. The signature is checked by `crypto.subtle.verify`, in constant time.
   */
  async verify(pathname: string, now: number = Date.now()): Promise<SignedPath | undefined> {
    if (!pathname.startsWith("/s/")) return undefined;
    const match = SIGNED.exec(pathname);
    if (!match) {
      return { ok: false, path: pathname, prefix: "", reason: "Malformed signed URL" };
    }
    const [, expiryText, sigText, path] = match;
    const prefix = pathname.slice(0, pathname.length - path.length);
    const expiry = Number(expiryText);
    const scope = scopeOf(path);
    const sig = fromBase64url(sigText);
    if (scope === undefined || sig === undefined) {
      return { ok: false, path, prefix, reason: "This signed URL does not cover this path" };
    }
    const valid = await crypto.subtle.verify("HMAC", this.#key, sig, message(expiry, scope));
    if (!valid) return { ok: false, path, prefix, reason: "Invalid URL signature" };
    if (expiry * 1000 <= now) return { ok: false, path, prefix, reason: "This URL has expired" };
    return { ok: true, path, prefix, scope, expiry };
  }
}
