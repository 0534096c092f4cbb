/**
 * The flag table's Access and Webhooks sections (spread into `FLAG` in `flags.ts`, in this
 * order).
 *
 * @module
 */

import type { IpList } from "./access/ip_list.ts";
import { parseAuthUrl, parseIpList, parsePublishTokens } from "./access/access_flags.ts";
import { DEFAULT_QUEUE_LIMIT } from "./webhooks/webhook_receiver.ts";
import { parseCount, parseHttpUrl, parseText, UsageError } from "./flag_parsers.ts";
import { value } from "./flag_kinds.ts";

/** Who may watch and publish, and where events go. */
export const ACCESS_WEBHOOK_FLAGS = {
  viewToken: value<string>({
    name: "view-token",
    arg: "TOKEN",
    section: "Access",
    parse: parseText,
    help: [
      "viewers of /, /stream and /live/NAME... (HLS and DASH too) need",
      "Authorization: Bearer TOKEN or ?token=TOKEN, else 401; also",
      "MKSERVER_VIEW_TOKEN in the environment",
    ],
  }),
  urlSecret: value<string>({
    name: "url-secret",
    arg: "SECRET",
    section: "Access",
    parse: parseText,
    help: [
      "viewers may come through signed, expiring paths /s/EXPIRY/SIG/... made",
      "by 'mkserver sign' (at least 32 bytes; also MKSERVER_URL_SECRET)",
    ],
  }),
  jwtSecret: value<string>({
    name: "jwt-secret",
    arg: "SECRET",
    section: "Access",
    parse: parseText,
    help: [
      "accept HS256 JWTs (Authorization: Bearer or ?jwt=) for viewing, and for",
      'publishing when their "actions" claim says so; a "mounts" claim limits',
      "the mounts (at least 32 bytes; also MKSERVER_JWT_SECRET)",
    ],
  }),
  jwks: value<string>({
    name: "jwks",
    arg: "FILE",
    section: "Access",
    parse: parseText,
    help: ["accept RS256 and ES256 JWTs signed by the public keys of this JWKS file"],
  }),
  authUrl: value<string>({
    name: "auth-url",
    arg: "URL",
    section: "Access",
    parse: parseAuthUrl,
    help: [
      "ask URL about each viewer and source: a POST of JSON {action, mount, ip,",
      "token, query, userAgent}; 2xx allows, anything else or no answer in 3 s",
      "denies; answers are reused for 5 s",
    ],
  }),
  publishTokens: value<ReadonlyMap<string, string>>({
    name: "publish-tokens",
    arg: "LIST",
    section: "Access",
    parse: parsePublishTokens,
    mapInFile: true,
    help: [
      "per-mount source tokens, NAME=TOKEN,... (in a config file also an object",
      '{"cam1": "TOKEN"}): PUT /live/NAME with its own token',
    ],
  }),
  viewAllow: value<IpList>({
    name: "view-allow",
    arg: "CIDRS",
    section: "Access",
    parse: parseIpList,
    help: ["only these addresses may watch, e.g. 10.0.0.0/8,2001:db8::/32"],
  }),
  viewDeny: value<IpList>({
    name: "view-deny",
    arg: "CIDRS",
    section: "Access",
    parse: parseIpList,
    help: ["these addresses may not watch (this wins over --view-allow)"],
  }),
  publishAllow: value<IpList>({
    name: "publish-allow",
    arg: "CIDRS",
    section: "Access",
    parse: parseIpList,
    help: ["only these addresses may push sources"],
  }),
  publishDeny: value<IpList>({
    name: "publish-deny",
    arg: "CIDRS",
    section: "Access",
    parse: parseIpList,
    help: ["these addresses may not push sources (this wins over --publish-allow)"],
  }),
  webhook: value<string>({
    name: "webhook",
    arg: "URL",
    section: "Webhooks",
    parse: parseHttpUrl,
    repeatable: true,
    help: [
      "POST every event (publish, unpublish, play, stop, evict) to URL as",
      "JSON, with an id and a seq to dedupe by; repeat the flag for more",
      "receivers. Each has its own queue and retries with backoff: one",
      "that is down or slow changes nothing for viewers (drops: /metrics)",
    ],
  }),
  webhookSecret: value<string>({
    name: "webhook-secret",
    arg: "KEY",
    section: "Webhooks",
    parse: parseText,
    help: [
      "sign each webhook body: X-Mkserver-Signature: sha256= and the hex",
      "HMAC-SHA256 of the body with KEY; MKSERVER_WEBHOOK_SECRET in the",
      "environment works too and keeps the key out of the process list",
    ],
  }),
  webhookQueue: value<number>({
    name: "webhook-queue",
    arg: "N",
    section: "Webhooks",
    default: String(DEFAULT_QUEUE_LIMIT),
    parse: (text, flag) => {
      const n = parseCount(text, flag);
      if (n < 1) throw new UsageError(`Invalid ${flag}: '${text}' (expected at least 1)`);
      return n;
    },
    help: [
      "most events waiting per receiver; when full, the oldest is dropped",
      "(default {default})",
    ],
  }),
};
