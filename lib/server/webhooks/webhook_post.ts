/**
 * One attempt at delivering a webhook event: a `POST` of its JSON body, with the headers that
 * name it (and sign it), under a deadline.
 *
 * @module
 */

import { errorMessage } from "../../log.ts";
import { SIGNATURE_HEADER, type WebhookSigner } from "./webhook_signature.ts";

/** One event, ready to post: its JSON body and what the headers say of it. */
export interface Delivery {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly body: string;
  /** Signs the body when a secret is set. */
  readonly signer?: WebhookSigner;
  /**
   * `sha256=HEX` of the body, made by the first receiver that posts it and shared with the
   * others. Not made before: a pending signature costs about 2 KB per queued event.
   */
  signature?: Promise<string>;
}

/** Options of `postWebhook`. */
export interface PostOptions {
  /** This attempt's number, from 1 (`X-Mkserver-Attempt`). */
  attempt: number;
  /** Milliseconds the receiver has to answer. */
  timeout: number;
  userAgent: string;
  /** Aborts the attempt (the server is stopping). */
  signal: AbortSignal;
}

/**
 * What a failed `fetch` says went wrong: its cause ("… Connection refused (os error 111)"),
 * without the URL it names (whose query may hold a secret; an href has no spaces).
 */
function describeFetchError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  return errorMessage(cause)
    .replace(/^error sending request for url \(\S*\): /, "")
    .replace(/\bhttps?:\/\/\S+/g, "the webhook URL");
}

/**
 * Posts `delivery` to `url` once. Resolves with what went wrong (no connection, no answer in
 * time, a status other than 2xx; a redirect is not followed), or undefined when the receiver
 * took it. Never rejects.
 */
export async function postWebhook(
  url: string,
  delivery: Delivery,
  options: PostOptions,
): Promise<string | undefined> {
  try {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": options.userAgent,
      "x-mkserver-event": delivery.type,
      "x-mkserver-delivery": delivery.id,
      "x-mkserver-seq": String(delivery.seq),
      "x-mkserver-attempt": String(options.attempt),
    };
    if (delivery.signer) {
      delivery.signature ??= delivery.signer.sign(delivery.body);
      headers[SIGNATURE_HEADER] = await delivery.signature;
    }
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: delivery.body,
      redirect: "manual",
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeout)]),
    });
    await response.body?.cancel().catch(() => {});
    return response.ok ? undefined : `it answered ${response.status}`;
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return `no answer within ${options.timeout / 1000} s`;
    }
    return describeFetchError(error);
  }
}
