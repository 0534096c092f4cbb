/**
 * Webhooks (`--webhook URL`, several allowed): every `StreamEvent` as a JSON POST to each
 * receiver, with an `id` and a monotonic `seq` to dedupe retries by, and an HMAC-SHA256
 * signature with `--webhook-secret`.
 *
 * @module
 */

import { errorMessage, type Logger, SILENT } from "../../log.ts";
import type { StreamEvent, StreamEvents } from "../../stream/stream_events.ts";
import type { Sample } from "../metrics.ts";
import {
  type Delivery,
  WebhookReceiver,
  type WebhookReceiverOptions,
  type WebhookReceiverStatus,
} from "./webhook_receiver.ts";
import { WebhookSigner } from "./webhook_signature.ts";

/** Options of `Webhooks`: each receiver's, and the shared secret. */
export interface WebhooksOptions extends WebhookReceiverOptions {
  /** Signs every body (HMAC-SHA256) into `X-Mkserver-Signature: sha256=HEX`. */
  secret?: string;
}

/** What a receiver gets: the event, with when it happened and what to dedupe it by. */
export type WebhookPayload = StreamEvent & {
  /** Unique per event (a UUID); the same on every retry and for every receiver. */
  id: string;
  /** 1, 2, 3, … in the order the server emitted events; gaps are events dropped for it. */
  seq: number;
  /** When it happened (ISO 8601). */
  time: string;
};

const METRICS = {
  delivered: {
    name: "mkserver_webhook_delivered_total",
    type: "counter",
    help: "Events a webhook receiver accepted.",
  },
  dropped: {
    name: "mkserver_webhook_dropped_total",
    type: "counter",
    help: "Events given up for a webhook receiver (its queue was full, or every attempt failed).",
  },
  failures: {
    name: "mkserver_webhook_failures_total",
    type: "counter",
    help: "Webhook attempts that failed (no connection, no answer in time, not 2xx).",
  },
  queued: {
    name: "mkserver_webhook_queued",
    type: "gauge",
    help: "Events waiting for a webhook receiver.",
  },
  up: {
    name: "mkserver_webhook_up",
    type: "gauge",
    help: "1 unless the webhook receiver's last attempt failed.",
  },
} as const;

/**
 * The server's webhook receivers, as the `StreamEvents` the registry and the handler tell.
 * `emit` serializes the event once, signs it once, and hands it to every receiver's queue; it
 * never waits and never throws.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Webhooks } from "./webhooks.ts";
 * const bodies: unknown[] = [];
 * const receiver = Deno.serve({ port: 0, onListen() {} }, async (request) => {
 *   bodies.push(await request.json());
 *   return new Response(null, { status: 204 });
 * });
 * const hooks = new Webhooks([`http://127.0.0.1:${receiver.addr.port}/`]);
 * hooks.emit({ type: "publish", mount: "cam1" });
 * await hooks.close(2000);
 * assertEquals(bodies.map((b) => (b as { seq: number }).seq), [1]);
 * await receiver.shutdown();
 * ```
 */
export class Webhooks implements StreamEvents {
  #receivers: WebhookReceiver[];
  #signer: WebhookSigner | undefined;
  #log: Logger;
  #seq = 0;

  /** @throws {TypeError} for a URL that is not http(s) or an empty secret */
  constructor(urls: readonly (string | URL)[], options: WebhooksOptions = {}) {
    const { secret, ...receiverOptions } = options;
    this.#log = options.log ?? SILENT;
    this.#signer = secret === undefined ? undefined : new WebhookSigner(secret);
    this.#receivers = urls.map((url) => new WebhookReceiver(url, receiverOptions));
  }

  /** The receivers, in the order they were given. */
  get receivers(): readonly WebhookReceiver[] {
    return this.#receivers;
  }

  /** Events emitted so far (the last `seq`). */
  get emitted(): number {
    return this.#seq;
  }

  /** Queues `event` for every receiver. */
  emit(event: StreamEvent): void {
    try {
      const seq = ++this.#seq;
      const id = crypto.randomUUID();
      const payload: WebhookPayload = { id, seq, time: new Date().toISOString(), ...event };
      const body = JSON.stringify(payload);
      const delivery: Delivery = { id, seq, type: event.type, body, signer: this.#signer };
      for (const receiver of this.#receivers) receiver.enqueue(delivery);
    } catch (error) {
      this.#log.error(
        `Webhook event ${event.type} of ${event.mount} failed: ${errorMessage(error)}`,
      );
    }
  }

  /** Every receiver, for `/status`. */
  status(): WebhookReceiverStatus[] {
    return this.#receivers.map((r) => r.status());
  }

  /** Every receiver's counters, for `/metrics`, labelled `receiver="URL"`. */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const r of this.#receivers) {
      const s = r.status();
      const labels = { receiver: s.receiver };
      out.push(
        { metric: METRICS.delivered, labels, value: s.delivered },
        { metric: METRICS.dropped, labels, value: s.dropped },
        { metric: METRICS.failures, labels, value: s.failures },
        { metric: METRICS.queued, labels, value: s.queued },
        { metric: METRICS.up, labels, value: s.state === "ok" ? 1 : 0 },
      );
    }
    return out;
  }

  /**
   * Gives every receiver that answers up to `timeout` ms to take what waits for it (at
   * shutdown), then stops them all; what is left is dropped, with one log line per receiver.
   */
  async close(timeout: number): Promise<void> {
    await Promise.all(this.#receivers.map((r) => r.flush(timeout)));
    await Promise.all(this.#receivers.map((r) => r.close()));
  }
}
