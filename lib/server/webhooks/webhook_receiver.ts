/**
 * One webhook receiver: its own bounded queue of events, posted one at a time in order, with
 * retries and backoff while it fails. Nothing here can hold up a stream: `enqueue` returns at
 * once, and when the queue is full the oldest waiting event is dropped (and counted).
 *
 * @module
 */

import { errorMessage, type Logger, SILENT } from "../../log.ts";
import { type Delivery, postWebhook } from "./webhook_post.ts";

export type { Delivery } from "./webhook_post.ts";

/**
 * `WebhookReceiverOptions.queueLimit` when not given (also `--webhook-queue`'s default): room
 * for a reconnect storm of thousands of viewers; a queued event costs about 0.5 KB.
 */
export const DEFAULT_QUEUE_LIMIT = 10_000;

/** Options of `WebhookReceiver`. */
export interface WebhookReceiverOptions {
  /** Most events waiting (besides the one being posted); more drop the oldest. Default 10,000. */
  queueLimit?: number;
  /** Milliseconds an attempt may take before it counts as failed (default 5000). */
  timeout?: number;
  /** Attempts per event before it is dropped (default 5). */
  attempts?: number;
  /** Milliseconds before the first retry, doubling up to `maxBackoff` (default 500). */
  backoff?: number;
  /** The longest wait between attempts while the receiver fails (default 30,000). */
  maxBackoff?: number;
  /** The `User-Agent` of the requests (default `mkserver`). */
  userAgent?: string;
  log?: Logger;
}

/** What `/status` shows of a receiver. */
export interface WebhookReceiverStatus {
  /** The receiver's URL without credentials or query (`label`). */
  receiver: string;
  /** `ok` until an attempt fails, then `failing` until one succeeds. */
  state: "ok" | "failing";
  /** Events waiting, with the one being posted. */
  queued: number;
  delivered: number;
  /** Events given up: the oldest when the queue was full, or after every attempt failed. */
  dropped: number;
  /** Attempts that failed (each retry counts). */
  failures: number;
  lastError?: string;
}

/** How a URL is shown in logs and metrics: no user name, password or query (they may be secrets). */
export function receiverLabel(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? "?…" : ""}`;
}

/**
 * Posts events to one URL, in order, one at a time. A failed attempt (no connection, no
 * answer within `timeout`, a status other than 2xx) is retried after a backoff that doubles
 * while the receiver keeps failing; an event that fails `attempts` times is dropped. The log
 * says when the receiver starts failing, when events start being dropped, and when it answers
 * again: once per change, never per event.
 */
export class WebhookReceiver {
  /** The URL events are posted to. */
  readonly url: string;
  /** The URL as logs and metrics show it (`receiverLabel`). */
  readonly label: string;
  #queue: Delivery[] = [];
  #posting = false;
  #running: Promise<void> | undefined;
  #limit: number;
  #timeout: number;
  #attempts: number;
  #firstBackoff: number;
  #maxBackoff: number;
  #backoff: number;
  #userAgent: string;
  #log: Logger;
  #state: "ok" | "failing" = "ok";
  #dropping = false;
  #delivered = 0;
  #dropped = 0;
  #droppedSinceOk = 0;
  #failures = 0;
  #lastError: string | undefined;
  #stop = new AbortController();

  /** @throws {TypeError} for a URL that is not http(s), or a queue limit below 1 */
  constructor(url: string | URL, options: WebhookReceiverOptions = {}) {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TypeError(`A webhook URL must be http(s): ${parsed.protocol}`);
    }
    this.url = parsed.href;
    this.label = receiverLabel(parsed);
    this.#limit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    if (!(this.#limit >= 1)) throw new TypeError(`Invalid webhook queue limit: ${this.#limit}`);
    this.#timeout = options.timeout ?? 5000;
    this.#attempts = Math.max(1, options.attempts ?? 5);
    this.#firstBackoff = options.backoff ?? 500;
    this.#maxBackoff = Math.max(this.#firstBackoff, options.maxBackoff ?? 30_000);
    this.#backoff = this.#firstBackoff;
    this.#userAgent = options.userAgent ?? "mkserver";
    this.#log = options.log ?? SILENT;
  }

  /** Events waiting, with the one being posted. */
  get queued(): number {
    return this.#queue.length + (this.#posting ? 1 : 0);
  }

  /** Events the receiver accepted (2xx). */
  get delivered(): number {
    return this.#delivered;
  }

  /** Events given up (queue full, or every attempt failed). */
  get dropped(): number {
    return this.#dropped;
  }

  /** What `/status` shows of this receiver. */
  status(): WebhookReceiverStatus {
    return {
      receiver: this.label,
      state: this.#state,
      queued: this.queued,
      delivered: this.#delivered,
      dropped: this.#dropped,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** Queues `delivery` and returns at once; a full queue drops its oldest waiting event. */
  enqueue(delivery: Delivery): void {
    if (this.#stop.signal.aborted) return this.#drop("the server is stopping");
    if (this.#queue.length >= this.#limit) {
      this.#queue.shift();
      this.#drop(`its queue of ${this.#limit} events is full`);
    }
    this.#queue.push(delivery);
    this.#running ??= this.#run()
      .catch((error) => this.#log.error(`Webhook ${this.label} stopped: ${errorMessage(error)}`))
      .finally(() => this.#running = undefined);
  }

  /**
   * Resolves when every queued event was posted or dropped, or after `timeout` ms; at once
   * while the receiver is failing (its backoff would outlast any sensible wait).
   */
  async flush(timeout: number): Promise<void> {
    if (this.#state === "failing") return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, timeout));
    try {
      while (this.#running !== undefined) {
        const done = await Promise.race([this.#running.then(() => true), expired]);
        if (done !== true) return;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops: the attempt in progress is aborted, and what still waits is dropped (and counted). */
  async close(): Promise<void> {
    const left = this.queued;
    this.#stop.abort();
    this.#queue = [];
    await this.#running;
    this.#posting = false;
    if (left > 0) {
      this.#dropped += left;
      this.#log.warn(`Webhook ${this.label}: ${left} event(s) not delivered (stopping)`);
    }
  }

  async #run(): Promise<void> {
    for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
      this.#posting = true;
      await this.#deliver(next);
      if (this.#stop.signal.aborted) return;
      // Caught up while answering: a new overflow is news (while failing, it is not).
      if (this.#queue.length === 0 && this.#state === "ok") this.#dropping = false;
    }
  }

  /**
   * Posts one event until it is accepted or its attempts are spent (then drops it). It stops
   * counting as queued in the same step as it counts as delivered or dropped, so `close` never
   * counts it twice; stopped meanwhile, it is `close`'s to count.
   */
  async #deliver(delivery: Delivery): Promise<void> {
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (this.#state === "failing") {
        await this.#sleep(this.#backoff);
        this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoff);
      }
      if (this.#stop.signal.aborted) return;
      const error = await postWebhook(this.url, delivery, {
        attempt,
        timeout: this.#timeout,
        userAgent: this.#userAgent,
        signal: this.#stop.signal,
      });
      if (this.#stop.signal.aborted) return;
      if (error === undefined) {
        this.#posting = false;
        return this.#succeeded();
      }
      this.#failed(error);
    }
    this.#posting = false;
    this.#drop(`an event failed ${this.#attempts} attempts`);
  }

  #succeeded(): void {
    this.#delivered++;
    this.#backoff = this.#firstBackoff;
    if (this.#state === "ok") return;
    this.#state = "ok";
    this.#dropping = false;
    const dropped = this.#droppedSinceOk;
    this.#droppedSinceOk = 0;
    this.#log.info(
      `Webhook ${this.label} answers again${
        dropped > 0 ? ` (${dropped} event(s) were dropped meanwhile)` : ""
      }`,
    );
  }

  #failed(error: string): void {
    this.#failures++;
    this.#lastError = error;
    if (this.#state === "failing") return;
    this.#state = "failing";
    this.#log.warn(
      `Webhook ${this.label} failed: ${error}; retrying with backoff (at most ${this.#limit} events wait, then the oldest are dropped)`,
    );
  }

  #drop(why: string): void {
    this.#dropped++;
    this.#droppedSinceOk++;
    if (this.#dropping) return;
    this.#dropping = true;
    this.#log.warn(`Webhook ${this.label}: dropping events (${why}); /metrics counts them`);
  }

  /** Waits `ms`, or less when the receiver is closed; never keeps the process alive. */
  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      Deno.unrefTimer(timer);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
