/**
 * `--auth-url`: asks another service whether a request may watch or publish. mkserver POSTs
 * `{action, mount, ip, token, query, userAgent}` as JSON; any 2xx answer allows, anything else,
 * a failure to connect or no answer within the timeout (3 s) denies. Answers are cached briefly,
 * and requests that would ask the same question at once share one call.
 *
 * @module
 */

import type { Action } from "./jwt_verifier.ts";

/** The question mkserver asks the auth service: the body of its POST. */
export interface AuthQuestion {
  action: Action;
  mount: string;
  /** The peer's address, as the socket gives it. */
  ip: string | null;
  /** The token the request carried (Bearer, Basic password, `?token=` or `?jwt=`), if any. */
  token: string | null;
  /** The request's query string without `?` (empty when there is none). */
  query: string;
  userAgent: string | null;
}

/** The service's answer. */
export type AuthAnswer = { allow: true } | { allow: false; reason: string; status: number };

/** Options of `AuthCallback`. */
export interface AuthCallbackOptions {
  /** Milliseconds to wait for an answer before denying (default 3000). */
  timeout?: number;
  /** Milliseconds an answer is reused for the same question (default 5000; 0: never). */
  cacheTtl?: number;
  /** Most answers kept (default 10000); the oldest go first. */
  cacheSize?: number;
}

/** The default wait for the auth service's answer. */
export const DEFAULT_AUTH_TIMEOUT = 3000;

interface Cached {
  answer: AuthAnswer;
  until: number;
}

/**
 * The cache key of a question. LL-HLS players add `_HLS_msn`/`_HLS_part` to every playlist
 * request: leaving them out lets one answer cover a viewer's whole run of reloads.
 */
function keyOf(q: AuthQuestion): string {
  const query = new URLSearchParams(q.query);
  for (const name of [...query.keys()]) if (name.startsWith("_HLS_")) query.delete(name);
  return JSON.stringify([q.action, q.mount, q.ip, q.token, query.toString(), q.userAgent]);
}

/**
 * Asks `url` about each request.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AuthCallback } from "./auth_callback.ts";
 * const server = Deno.serve({ port: 0, onListen() {} }, async (request) => {
 *   const question = await request.json();
 *   return new Response(null, { status: question.token === "good" ? 204 : 403 });
 * });
 * const auth = new AuthCallback(`http://127.0.0.1:${server.addr.port}/`);
 * const ask = (token: string) =>
 *   auth.ask({ action: "read", mount: "cam1", ip: null, token, query: "", userAgent: null });
 * assertEquals((await ask("good")).allow, true);
 * assertEquals((await ask("bad")).allow, false);
 * await server.shutdown();
 * ```
 */
export class AuthCallback {
  #url: string;
  #timeout: number;
  #ttl: number;
  #size: number;
  #cache = new Map<string, Cached>();
  #pending = new Map<string, Promise<AuthAnswer>>();

  constructor(url: string, options: AuthCallbackOptions = {}) {
    this.#url = url;
    this.#timeout = options.timeout ?? DEFAULT_AUTH_TIMEOUT;
    this.#ttl = options.cacheTtl ?? 5000;
    this.#size = options.cacheSize ?? 10_000;
  }

  /** The service's answer to `question`: from the cache, a call in flight, or a new call. */
  ask(question: AuthQuestion): Promise<AuthAnswer> {
    const key = keyOf(question);
    const cached = this.#cache.get(key);
    if (cached && cached.until > Date.now()) return Promise.resolve(cached.answer);
    this.#cache.delete(key);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    const call = this.#call(question).then((result) => {
      this.#pending.delete(key);
      if (result.cache && this.#ttl > 0) this.#remember(key, result.answer);
      return result.answer;
    });
    this.#pending.set(key, call);
    return call;
  }

  #remember(key: string, answer: AuthAnswer): void {
    if (this.#cache.size >= this.#size) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, { answer, until: Date.now() + this.#ttl });
  }

  /** One POST. Answers are cached; failures to get one (timeouts, refused connections) are not. */
  async #call(question: AuthQuestion): Promise<{ answer: AuthAnswer; cache: boolean }> {
    const signal = AbortSignal.timeout(this.#timeout);
    try {
      const response = await fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(question),
        signal,
        redirect: "manual",
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) {
        return { answer: { allow: true }, cache: true };
      }
      const reason = `The authorization service refused (${response.status})`;
      return { answer: { allow: false, reason, status: 403 }, cache: true };
    } catch (error) {
      const reason = signal.aborted
        ? `The authorization service did not answer within ${this.#timeout / 1000} s`
        : `The authorization service cannot be reached: ${(error as Error)?.message ?? error}`;
      return { answer: { allow: false, reason, status: 403 }, cache: false };
    }
  }
}
