/**
 * The signature of a webhook's body: HMAC-SHA256 with the shared `--webhook-secret`, by
 * WebCrypto, sent as `X-Mkserver-Signature: sha256=HEX` so a receiver can check that the event
 * came from this server and was not altered.
 *
 * @module
 */

/** The header that carries the signature. */
export const SIGNATURE_HEADER = "x-mkserver-signature";

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Signs webhook bodies with one secret: the key is imported once (non-extractable), and each
 * `sign` is one HMAC-SHA256 over the body's UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WebhookSigner } from "./webhook_signature.ts";
 * const signer = new WebhookSigner("key");
 * // The usual check value of HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
 * assertEquals(
 *   await signer.sign("The quick brown fox jumps over the lazy dog"),
 *   "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
 * );
 * ```
 */
export class WebhookSigner {
  #key: Promise<CryptoKey>;

  /** @throws {TypeError} for an empty secret */
  constructor(secret: string) {
    if (secret === "") throw new TypeError("The webhook secret is empty");
    this.#key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /** `sha256=` and the lowercase hex HMAC-SHA256 of `body`. */
  async sign(body: string): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(body));
    return `sha256=${hex(mac)}`;
  }
}
