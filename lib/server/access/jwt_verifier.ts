/**
 * JSON Web Tokens (RFC 7519) for viewers and publishers, verified with `jose`: HS256 with a shared
 * secret, RS256 and ES256 with the public keys of a JWKS file. `exp` and `nbf` are honoured; the
 * claims `mounts` and `actions` may restrict what a token allows.
 *
 * @module
 */

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";

/** What a request wants to do: watch a mount, or publish to it. */
export type Action = "read" | "publish";

/** A bad `--jwt-secret` or JWKS file. */
export class JwtConfigError extends TypeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JwtConfigError";
  }
}

/** The shortest HS256 secret taken (RFC 7518 §3.2: a key at least as long as the hash). */
export const MIN_JWT_SECRET_LENGTH = 32;

/** What a valid token allows. */
export interface JwtGrant {
  /** Mount names it covers (`*` for any); undefined: every mount. */
  mounts?: readonly string[];
  /** What it allows; `read` when the token does not say. */
  actions: readonly Action[];
  /** Its `sub`, for log lines. */
  subject?: string;
}

/** What `verify` found. */
export type JwtResult = { ok: true; grant: JwtGrant } | { ok: false; reason: string };

/** Options of `JwtVerifier.create`: a secret, a key set, or both. */
export interface JwtVerifierOptions {
  /** HS256 shared secret (at least 32 bytes). */
  secret?: string;
  /** Public keys (RS256, ES256), as a JWKS file holds them. */
  jwks?: JSONWebKeySet;
}

const encoder = new TextEncoder();
const ACTIONS: readonly Action[] = ["read", "publish"];

function stringList(value: unknown): string[] | undefined {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  return undefined;
}

/** The grant of verified claims, or why they are malformed. */
function grantOf(payload: Record<string, unknown>): JwtResult {
  let mounts: string[] | undefined;
  if (payload.mounts !== undefined) {
    mounts = stringList(payload.mounts);
    if (!mounts) return { ok: false, reason: "The token's 'mounts' claim is not a list of names" };
  }
  let actions: Action[] = ["read"];
  if (payload.actions !== undefined) {
    const list = stringList(payload.actions);
    if (!list || !list.every((a) => (ACTIONS as string[]).includes(a))) {
      return { ok: false, reason: "The token's 'actions' claim must list read and/or publish" };
    }
    actions = list as Action[];
  }
  const subject = typeof payload.sub === "string" ? payload.sub : undefined;
  return { ok: true, grant: { mounts, actions, subject } };
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The token has expired";
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === "nbf") {
    return "The token is not valid yet";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "Invalid token signature";
  if (error instanceof errors.JWKSNoMatchingKey) return "No key of the JWKS verifies the token";
  return "Invalid token";
}

/**
 * Verifies JWTs against a secret (HS256) and/or a key set (RS256, ES256).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { SignJWT } from "jose";
 * import { JwtVerifier } from "./jwt_verifier.ts";
 * const secret = "a shared secret of at least 32 bytes!";
 * const verifier = JwtVerifier.create({ secret });
 * const token = await new SignJWT({ mounts: ["cam1"] })
 *   .setProtectedHeader({ alg: "HS256" })
 *   .setExpirationTime("1m")
 *   .sign(new TextEncoder().encode(secret));
 * const result = await verifier.verify(token);
 * assert(result.ok && result.grant.mounts?.[0] === "cam1");
 * ```
 */
export class JwtVerifier {
  #secret: Uint8Array | undefined;
  #keys: JWTVerifyGetKey | undefined;

  private constructor(secret: Uint8Array | undefined, keys: JWTVerifyGetKey | undefined) {
    this.#secret = secret;
    this.#keys = keys;
  }

  /** Throws `JwtConfigError` for a short secret or a key set `jose` cannot use. */
  static create(options: JwtVerifierOptions): JwtVerifier {
    let secret: Uint8Array | undefined;
    if (options.secret !== undefined) {
      secret = encoder.encode(options.secret);
      if (secret.length < MIN_JWT_SECRET_LENGTH) {
        throw new JwtConfigError(
          `The JWT secret is too short: HS256 needs at least ${MIN_JWT_SECRET_LENGTH} bytes`,
        );
      }
    }
    let keys: JWTVerifyGetKey | undefined;
    if (options.jwks !== undefined) {
      const set = options.jwks as { keys?: unknown };
      if (!Array.isArray(set.keys) || set.keys.length === 0) {
        throw new JwtConfigError('The JWKS has no keys: expected {"keys": [...]}');
      }
      if (set.keys.some((k) => typeof k === "object" && k !== null && "d" in k)) {
        throw new JwtConfigError("The JWKS holds a private key: give mkserver public keys only");
      }
      try {
        keys = createLocalJWKSet(options.jwks);
      } catch (error) {
        throw new JwtConfigError(`Invalid JWKS: ${(error as Error).message}`, { cause: error });
      }
    }
    return new JwtVerifier(secret, keys);
  }

  /** Reads a JWKS file (JSON `{"keys": [...]}`) into a verifier, with `secret` if given. */
  static async fromFile(path: string, secret?: string): Promise<JwtVerifier> {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      const why = error instanceof SyntaxError ? "not JSON" : (error as Error).message;
      throw new JwtConfigError(`Cannot read the JWKS file ${path}: ${why}`, { cause: error });
    }
    return JwtVerifier.create({ secret, jwks });
  }

  /** Whether `text` looks like a compact JWS (three base64url parts), i.e. worth verifying. */
  static looksLikeJwt(text: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text);
  }

  /** Verifies `token` now: its signature, `exp`, `nbf`, and the shape of its claims. */
  async verify(token: string): Promise<JwtResult> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return { ok: false, reason: "Malformed token" };
    }
    try {
      if (alg === "HS256" && this.#secret) {
        const { payload } = await jwtVerify(token, this.#secret, { algorithms: ["HS256"] });
        return grantOf(payload);
      }
      if ((alg === "RS256" || alg === "ES256") && this.#keys) {
        const { payload } = await jwtVerify(token, this.#keys, { algorithms: ["RS256", "ES256"] });
        return grantOf(payload);
      }
    } catch (error) {
      return { ok: false, reason: reasonOf(error) };
    }
    return { ok: false, reason: `Tokens signed with ${alg ?? "no algorithm"} are not accepted` };
  }
}

/** Whether `grant` allows `action` on mount `name`. */
export function grantAllows(grant: JwtGrant, action: Action, name: string): boolean {
  if (!grant.actions.includes(action)) return false;
  return grant.mounts === undefined || grant.mounts.some((m) => m === "*" || m === name);
}
