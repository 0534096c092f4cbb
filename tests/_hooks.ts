/**
 * Test helpers for webhooks: a receiver on `Deno.serve({ port: 0 })` that keeps what it was
 * posted, and a receiver that accepts connections and never answers.
 *
 * @module
 */

import type { WebhookPayload } from "../lib/server/webhooks/webhooks.ts";

/** One POST a `HookSink` took: its parsed body, its headers and its raw text. */
export interface Posted {
  payload: WebhookPayload;
  headers: Headers;
  body: string;
}

/** Options of `HookSink.start`. */
export interface HookSinkOptions {
  /** The status to answer a post with (default 204); a test may fail some on purpose. */
  answer?: (posted: Posted, index: number) => number;
  /** The port to listen on (default 0: any free one). */
  port?: number;
}

/** A webhook receiver that keeps every post, in the order it came. */
export class HookSink implements AsyncDisposable {
  /** Every post so far, retries included. */
  readonly posts: Posted[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(options: HookSinkOptions) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
      async (request) => {
        const body = await request.text();
        const posted = { payload: JSON.parse(body), headers: request.headers, body };
        const index = this.posts.push(posted) - 1;
        return new Response(null, { status: options.answer?.(posted, index) ?? 204 });
      },
    );
  }

  /** Listens on 127.0.0.1 (port 0 unless `options.port`). */
  static start(options: HookSinkOptions = {}): HookSink {
    return new HookSink(options);
  }

  /** The URL to give `--webhook`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/hook`;
  }

  /** The events taken, once each (a retry has the id of its first attempt), in order. */
  events(): WebhookPayload[] {
    const seen = new Set<string>();
    const out: WebhookPayload[] = [];
    for (const { payload } of this.posts) {
      if (seen.has(payload.id)) continue;
      seen.add(payload.id);
      out.push(payload);
    }
    return out;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** A receiver that accepts every connection and never answers (nor reads). */
export class HangingReceiver implements Disposable {
  #listener: Deno.Listener;
  #conns: Deno.Conn[] = [];
  #accepting: Promise<void>;

  constructor() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) this.#conns.push(conn);
      } catch { /* closed */ }
    })();
  }

  /** The URL to give `--webhook`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}/hook`;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#conns.length;
  }

  /** Closes the listener and every connection it accepted. */
  async close(): Promise<void> {
    this[Symbol.dispose]();
    await this.#accepting;
  }

  [Symbol.dispose](): void {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch { /* closed */ }
    }
    this.#conns = [];
  }
}
