/**
 * Who may watch and who may publish: IP lists first, then any one credential that allows the
 * request (a view or publish token, a signed URL, a JWT, or the auth service's answer).
 *
 * @module
 */

import { type Logger, SILENT } from "../../log.ts";
import type { AuthAnswer, AuthCallback } from "./auth_callback.ts";
import { type Credentials, credentialsOf, matchesAny, tokenOf } from "./credentials.ts";
import type { IpList } from "./ip_list.ts";
import { type Action, grantAllows, JwtVerifier } from "./jwt_verifier.ts";
import type { UrlSigner } from "./url_signer.ts";

/** The access settings: each part is off when absent. */
export interface AccessSettings {
  /** Viewers need `Authorization: Bearer TOKEN` or `?token=TOKEN`. */
  viewToken?: string;
  /** Viewers may come through `/s/EXPIRY/SIG/…` paths it signed. */
  urlSigner?: UrlSigner;
  /** JWTs (HS256, RS256, ES256) allow what their claims say. */
  jwt?: JwtVerifier;
  /** Asks a service about every request it has not answered lately. */
  authCallback?: AuthCallback;
  /** Publishes to any mount. */
  sourceToken?: string;
  /** Publishes to one mount each: name → token. */
  publishTokens?: ReadonlyMap<string, string>;
  /** Addresses that may watch (absent: any) and that may not (deny wins). */
  viewAllow?: IpList;
  viewDeny?: IpList;
  /** The same for publishing. */
  publishAllow?: IpList;
  publishDeny?: IpList;
  log?: Logger;
}

/** What `AccessPolicy.check` is asked. */
export interface AccessCheck {
  request: Request;
  action: Action;
  /** The mount the request is for. */
  mount: string;
  /** The peer's address (absent when unknown). */
  ip?: string;
  /** The request came through a valid signed path for this mount. */
  signed?: boolean;
}

/**
 * The decision. An allowed request is `shared` when it was let in without a credential of its
 * own (no guard, an IP list, a signed path whose URL is its cache key): its answer may be kept
 * by a shared cache as it is. Otherwise the handler marks the answer `private`.
 */
export type AccessDecision =
  | { allow: true; shared: boolean }
  | { allow: false; response: Response };

const CHALLENGE = 'Bearer realm="mkserver"';
const PUBLISH_CHALLENGE = 'Bearer realm="mkserver", Basic realm="mkserver"';

function deny(status: number, reason: string, challenge?: string): AccessDecision {
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "access-control-allow-origin": "*",
  };
  if (status === 401 && challenge) headers["www-authenticate"] = challenge;
  return { allow: false, response: new Response(reason + "\n", { status, headers }) };
}

const ALLOW_PRIVATE: AccessDecision = { allow: true, shared: false };
const ALLOW_SHARED: AccessDecision = { allow: true, shared: true };

/** A refusal found on the way, kept in case nothing else allows the request. */
interface Refusal {
  status: number;
  reason: string;
}

/**
 * Decides who may watch and publish.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AccessPolicy } from "./access_policy.ts";
 * const policy = new AccessPolicy({ viewToken: "let-me-watch" });
 * const ask = (url: string) =>
 *   policy.check({ request: new Request(url), action: "read", mount: "cam1" });
 * assertEquals((await ask("http://host/live/cam1?token=let-me-watch")).allow, true);
 * const refused = await ask("http://host/live/cam1");
 * assertEquals(refused.allow ? 200 : refused.response.status, 401);
 * ```
 */
export class AccessPolicy {
  #s: AccessSettings;
  #log: Logger;

  constructor(settings: AccessSettings) {
    this.#s = settings;
    this.#log = settings.log ?? SILENT;
  }

  /** The signer of `/s/…` paths, when signed URLs are on. */
  get urlSigner(): UrlSigner | undefined {
    return this.#s.urlSigner;
  }

  /** Whether viewers need a credential. */
  get guardsViewing(): boolean {
    const s = this.#s;
    return s.viewToken !== undefined || s.urlSigner !== undefined || s.jwt !== undefined ||
      s.authCallback !== undefined;
  }

  /** Whether sources may be pushed at all (some credential can allow it). */
  get allowsPublishing(): boolean {
    const s = this.#s;
    return s.sourceToken !== undefined || (s.publishTokens?.size ?? 0) > 0 ||
      s.jwt !== undefined || s.authCallback !== undefined;
  }

  /** Decides `check`; logs each refusal (never a credential). */
  async check(check: AccessCheck): Promise<AccessDecision> {
    const decision = await this.#decide(check);
    if (!decision.allow) {
      const reason = (await decision.response.clone().text()).trim();
      const what = `${check.action === "read" ? "a viewer" : "a source"} of /live/${check.mount}`;
      this.logRefusal(what, check.ip, `${reason} (${decision.response.status})`, check.action);
    }
    return decision;
  }

  /** Logs a refusal: `WARN` for sources, `INFO` for viewers (who may retry often). */
  logRefusal(what: string, ip: string | undefined, reason: string, action: Action = "read"): void {
    const line = `Refused ${what} from ${ip ?? "unknown"}: ${reason}`;
    if (action === "publish") this.#log.warn(line);
    else this.#log.info(line);
  }

  #ipRefusal(action: Action, ip: string | undefined): string | undefined {
    const [allow, deny] = action === "read"
      ? [this.#s.viewAllow, this.#s.viewDeny]
      : [this.#s.publishAllow, this.#s.publishDeny];
    const verb = action === "read" ? "watch" : "publish";
    if (deny && ip !== undefined && deny.includes(ip)) return `Address ${ip} may not ${verb}`;
    if (allow && (ip === undefined || !allow.includes(ip))) {
      return `Address ${ip ?? "unknown"} may not ${verb} here`;
    }
    return undefined;
  }

  async #decide(check: AccessCheck): Promise<AccessDecision> {
    const ipRefusal = this.#ipRefusal(check.action, check.ip);
    if (ipRefusal) return deny(403, ipRefusal);
    if (check.action === "read") {
      if (!this.guardsViewing || check.signed) return ALLOW_SHARED;
    } else if (!this.allowsPublishing) {
      return deny(403, "Pushing sources is disabled: start mkserver with --source-token");
    }
    const creds = credentialsOf(check.request);
    if (this.#tokenMatches(check, creds)) return ALLOW_PRIVATE;
    const refusals: Refusal[] = [];
    const jwt = await this.#checkJwt(check, creds);
    if (jwt === true) return ALLOW_PRIVATE;
    if (jwt) refusals.push(jwt);
    const answer = await this.#ask(check, creds);
    if (answer?.allow) return ALLOW_PRIVATE;
    if (answer) refusals.push(answer);
    const challenge = check.action === "read" ? CHALLENGE : PUBLISH_CHALLENGE;
    const forbidden = refusals.find((r) => r.status === 403);
    if (forbidden) return deny(403, forbidden.reason);
    if (refusals.length > 0) {
      return deny(401, refusals[0].reason, `${challenge}, error="invalid_token"`);
    }
    const what = check.action === "read" ? "watch" : "publish to";
    return deny(401, `A valid token is needed to ${what} /live/${check.mount}`, challenge);
  }

  #tokenMatches(check: AccessCheck, c: Credentials): boolean {
    const s = this.#s;
    if (check.action === "read") {
      return s.viewToken !== undefined && matchesAny([c.bearer, c.queryToken], s.viewToken);
    }
    const candidates = [c.bearer, c.basicPassword, c.queryToken];
    if (s.sourceToken !== undefined && matchesAny(candidates, s.sourceToken)) return true;
    const own = s.publishTokens?.get(check.mount);
    return own !== undefined && matchesAny(candidates, own);
  }

  /** True when a JWT allows the request; a refusal when one was given but does not. */
  async #checkJwt(check: AccessCheck, c: Credentials): Promise<true | Refusal | undefined> {
    const verifier = this.#s.jwt;
    if (!verifier) return undefined;
    const token = c.bearer !== undefined && JwtVerifier.looksLikeJwt(c.bearer)
      ? c.bearer
      : c.queryJwt;
    if (token === undefined) return undefined;
    const result = await verifier.verify(token);
    if (!result.ok) return { status: 401, reason: result.reason };
    if (grantAllows(result.grant, check.action, check.mount)) return true;
    const what = check.action === "read" ? "watching" : "publishing to";
    return { status: 403, reason: `The token does not allow ${what} /live/${check.mount}` };
  }

  async #ask(check: AccessCheck, c: Credentials): Promise<AuthAnswer | undefined> {
    const callback = this.#s.authCallback;
    if (!callback) return undefined;
    const answer = await callback.ask({
      action: check.action,
      mount: check.mount,
      ip: check.ip ?? null,
      token: tokenOf(c) ?? null,
      query: new URL(check.request.url).search.slice(1),
      userAgent: check.request.headers.get("user-agent"),
    });
    if (!answer.allow) this.#log.debug(`Auth service: ${answer.reason}`);
    return answer;
  }
}
