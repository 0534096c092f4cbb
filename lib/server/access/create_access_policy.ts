/**
 * The access policy of a run, from its settings: keys imported, the JWKS file read. None at all
 * when no access setting is given, so a server without them behaves as it always did.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { UsageError } from "../flag_parsers.ts";
import { AccessPolicy } from "./access_policy.ts";
import { AuthCallback, type AuthCallbackOptions } from "./auth_callback.ts";
import type { IpList } from "./ip_list.ts";
import { JwtConfigError, JwtVerifier } from "./jwt_verifier.ts";
import { UrlSigner, UrlSignerError } from "./url_signer.ts";

/** The access settings as the command line gives them. */
export interface AccessOptions {
  viewToken?: string;
  urlSecret?: string;
  jwtSecret?: string;
  /** Path of a JWKS file. */
  jwks?: string;
  authUrl?: string;
  /** Timeout and cache of the auth service. */
  auth?: AuthCallbackOptions;
  sourceToken?: string;
  publishTokens?: ReadonlyMap<string, string>;
  viewAllow?: IpList;
  viewDeny?: IpList;
  publishAllow?: IpList;
  publishDeny?: IpList;
}

/** The settings that turn access control on (`sourceToken` alone keeps the old push check). */
const GUARDS: readonly (keyof AccessOptions)[] = [
  "viewToken",
  "urlSecret",
  "jwtSecret",
  "jwks",
  "authUrl",
  "publishTokens",
  "viewAllow",
  "viewDeny",
  "publishAllow",
  "publishDeny",
];

/**
 * The policy of `options`, or undefined when none of its guards is set. Throws `UsageError` for
 * a secret that is too short or a JWKS file that cannot be read or used.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createAccessPolicy } from "./create_access_policy.ts";
 * assertEquals(await createAccessPolicy({ sourceToken: "t" }), undefined);
 * const policy = await createAccessPolicy({ viewToken: "t" });
 * assertEquals(policy?.guardsViewing, true);
 * ```
 */
export async function createAccessPolicy(
  options: AccessOptions,
  log?: Logger,
): Promise<AccessPolicy | undefined> {
  if (!GUARDS.some((key) => options[key] !== undefined)) return undefined;
  try {
    const urlSigner = options.urlSecret === undefined
      ? undefined
      : await UrlSigner.create(options.urlSecret);
    const jwt = options.jwks !== undefined
      ? await JwtVerifier.fromFile(options.jwks, options.jwtSecret)
      : options.jwtSecret !== undefined
      ? JwtVerifier.create({ secret: options.jwtSecret })
      : undefined;
    const authCallback = options.authUrl === undefined
      ? undefined
      : new AuthCallback(options.authUrl, options.auth);
    return new AccessPolicy({
      viewToken: options.viewToken,
      urlSigner,
      jwt,
      authCallback,
      sourceToken: options.sourceToken,
      publishTokens: options.publishTokens,
      viewAllow: options.viewAllow,
      viewDeny: options.viewDeny,
      publishAllow: options.publishAllow,
      publishDeny: options.publishDeny,
      log,
    });
  } catch (error) {
    if (error instanceof UrlSignerError || error instanceof JwtConfigError) {
      const flag = error instanceof UrlSignerError
        ? "--url-secret"
        : options.jwks === undefined
        ? "--jwt-secret"
        : "--jwks";
      throw new UsageError(`Invalid ${flag}: ${error.message}`);
    }
    throw error;
  }
}
