// The handler with an access policy: each mode with and without valid credentials, expiry,
// claims, publish tokens and IP lists (the handler called with `new Request(...)`).
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { SignJWT } from "jose";
import { createAccessPolicy } from "../lib/server/access/create_access_policy.ts";
import type { AccessOptions } from "../lib/server/access/create_access_policy.ts";
import { IpList } from "../lib/server/access/ip_list.ts";
import { createHandler, type Handler } from "../lib/server/handler.ts";
import { MountRegistry } from "../lib/stream/mount_registry.ts";
import { sleep } from "../bench/_proc.ts";
import { liveMount, readFixture } from "./_util.ts";

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const PEER = { remoteAddr: { hostname: "198.51.100.7", port: 40000 } };

/** Status of a request, body consumed or cancelled. */
async function statusOf(
  handler: Handler,
  url: string,
  init: RequestInit = {},
  info = PEER,
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await handler(new Request(`http://localhost${url}`, init), info);
  if (response.status === 200 && response.headers.get("content-type")?.includes("webm")) {
    await response.body?.cancel();
    return { status: 200, text: "", headers: response.headers };
  }
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function withHandler(
  options: AccessOptions,
  test: (handler: Handler) => Promise<void>,
): Promise<void> {
  const live = await liveMount("sample.webm", { realtime: false });
  try {
    const access = await createAccessPolicy(options);
    assert(access !== undefined);
    await test(createHandler(live.mount, { access, readyTimeout: 200 }));
  } finally {
    await live.close();
  }
}

Deno.test("--view-token: 401 with WWW-Authenticate without it; Bearer or ?token= lets a viewer in", async () => {
  const token = randomSecret();
  await withHandler({ viewToken: token }, async (handler) => {
    for (const path of ["/stream", "/", "/live/stream", "/stream.webm"]) {
      const refused = await statusOf(handler, path);
      assertEquals(refused.status, 401, path);
      assertEquals(refused.headers.get("www-authenticate"), 'Bearer realm="mkserver"');
      assertEquals(refused.headers.get("cache-control"), "no-store");
    }
    const wrong = await statusOf(handler, "/stream", { headers: { authorization: "Bearer nope" } });
    assertEquals(wrong.status, 401);
    assertEquals((await statusOf(handler, `/stream?token=${token}x`)).status, 401);
    const bearer = await statusOf(handler, "/stream", {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(bearer.status, 200);
    assertEquals((await statusOf(handler, `/live/stream?token=${token}`)).status, 200);
    // Not guarded: status, metrics, and the player page (which plays with the page's token).
    assertEquals((await statusOf(handler, "/status")).status, 200);
    assertEquals((await statusOf(handler, "/metrics")).status, 200);
    const page = await statusOf(handler, `/?token=${token}`, { headers: { accept: "text/html" } });
    assertEquals(page.status, 200);
    assertStringIncludes(page.text, `data-stream="/stream?token=${token}"`);
    // A page elsewhere that sends Authorization asks first: the preflight needs no token.
    const preflight = await statusOf(handler, "/live/stream/index.m3u8", { method: "OPTIONS" });
    assertEquals(preflight.status, 204);
    assertEquals(preflight.headers.get("access-control-allow-headers"), "authorization");
  });
});

Deno.test("JWT (HS256): exp honoured with a 2 s token, mounts and actions claims restrict it", async () => {
  const secret = randomSecret();
  const key = new TextEncoder().encode(secret);
  const sign = (claims: Record<string, unknown>, expires = "60s") =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime(expires).sign(key);
  await withHandler({ jwtSecret: secret }, async (handler) => {
    const short = await sign({}, "2s");
    const header = { headers: { authorization: `Bearer ${short}` } };
    assertEquals((await statusOf(handler, "/stream", header)).status, 200);
    assertEquals((await statusOf(handler, `/live/stream?jwt=${short}`)).status, 200);
    const none = await statusOf(handler, "/stream");
    assertEquals(none.status, 401);
    await sleep(2100);
    const expired = await statusOf(handler, "/stream", header);
    assertEquals(expired.status, 401);
    assertStringIncludes(expired.text, "expired");
    assertMatch(expired.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    // Claims: another mount only, or no read: 403. A mount list with this one: 200.
    const other = await sign({ mounts: ["cam9"] });
    assertEquals((await statusOf(handler, `/stream?jwt=${other}`)).status, 403);
    const publishOnly = await sign({ actions: ["publish"] });
    assertEquals((await statusOf(handler, `/stream?jwt=${publishOnly}`)).status, 403);
    const mine = await sign({ mounts: ["cam9", "stream"] });
    assertEquals((await statusOf(handler, `/stream?jwt=${mine}`)).status, 200);
    // Another secret's token: 401.
    const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(randomSecret()));
    assertEquals((await statusOf(handler, `/stream?jwt=${forged}`)).status, 401);
  });
});

Deno.test("--url-secret: a signed path plays until it expires (2 s); a changed path gets 403", async () => {
  const secret = randomSecret();
  await withHandler({ urlSecret: secret }, async (handler) => {
    const { UrlSigner } = await import("../lib/server/access/url_signer.ts");
    const signer = await UrlSigner.create(secret);
    const signed = await signer.sign("/stream", Math.floor(Date.now() / 1000) + 2);
    assertEquals((await statusOf(handler, signed)).status, 200);
    assertEquals((await statusOf(handler, signed.replace("/stream", "/"))).status, 200);
    assertEquals((await statusOf(handler, "/stream")).status, 401);
    // The mount's own path is another scope: the default mount's signature does not cover it.
    assertEquals((await statusOf(handler, signed.replace("/stream", "/live/stream"))).status, 403);
    const bumped = signed.replace(/^\/s\/([0-9]+)/, (_, e) => `/s/${Number(e) + 1}`);
    assertEquals((await statusOf(handler, bumped)).status, 403);
    // The player page under the signed prefix plays the signed stream.
    const page = await statusOf(handler, signed.replace("/stream", "/player"));
    assertStringIncludes(page.text, `data-stream="${signed}"`);
    await sleep(2100);
    const late = await statusOf(handler, signed);
    assertEquals([late.status, late.text], [403, "This URL has expired\n"]);
  });
});

Deno.test("Publishing: per-mount tokens, the source token and JWT publish claims guard PUT /live/NAME", async () => {
  const secret = randomSecret();
  const key = new TextEncoder().encode(secret);
  const body = await readFixture("sample.webm") as Uint8Array<ArrayBuffer>;
  const registry = new MountRegistry({ grace: 0 });
  const access = await createAccessPolicy({
    sourceToken: "global-token",
    publishTokens: new Map([["cam1", "cam1-token"], ["cam2", "cam2-token"]]),
    jwtSecret: secret,
  });
  const handler = createHandler(registry, { access });
  const put = (name: string, headers: Record<string, string>) =>
    statusOf(handler, `/live/${name}`, { method: "PUT", body, headers });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  try {
    assertEquals((await put("cam1", {})).status, 401);
    assertEquals((await put("cam1", bearer("cam2-token"))).status, 401);
    const own = await put("cam1", bearer("cam1-token"));
    assertEquals(own.status, 200, own.text);
    assertStringIncludes(own.text, "Received");
    const basic = await put("cam2", { authorization: `Basic ${btoa("ffmpeg:cam2-token")}` });
    assertEquals(basic.status, 200, basic.text);
    assertEquals((await put("cam3", bearer("global-token"))).status, 200);
    const reader = await new SignJWT({ mounts: ["cam4"] }).setProtectedHeader({ alg: "HS256" })
      .sign(key);
    const readOnly = await put("cam4", bearer(reader));
    assertEquals(readOnly.status, 403);
    assertStringIncludes(readOnly.text, "does not allow publishing");
    const publisher = await new SignJWT({ mounts: ["cam4"], actions: ["publish"] })
      .setProtectedHeader({ alg: "HS256" }).sign(key);
    assertEquals((await put("cam4", bearer(publisher))).status, 200);
    assertEquals((await put("cam5", bearer(publisher))).status, 403);
    // A view token is not a publish credential, and viewing needs no credential here.
    assertEquals((await statusOf(handler, "/status")).status, 200);
  } finally {
    registry.endAll();
  }
});

Deno.test("IP lists: deny wins over allow, for viewing and publishing apart; others unaffected", async () => {
  await withHandler({
    viewAllow: IpList.parse("198.51.100.0/24,2001:db8::/32"),
    viewDeny: IpList.parse("198.51.100.66"),
    publishAllow: IpList.parse("192.0.2.0/24"),
  }, async (handler) => {
    const from = (hostname: string) => ({ remoteAddr: { hostname, port: 1 } });
    assertEquals((await statusOf(handler, "/stream", {}, from("198.51.100.7"))).status, 200);
    assertEquals((await statusOf(handler, "/stream", {}, from("2001:db8::5"))).status, 200);
    const denied = await statusOf(handler, "/stream", {}, from("198.51.100.66"));
    assertEquals([denied.status, denied.text], [403, "Address 198.51.100.66 may not watch\n"]);
    assertEquals((await statusOf(handler, "/stream", {}, from("203.0.113.1"))).status, 403);
    assertEquals((await statusOf(handler, "/stream", {}, from("::1"))).status, 403);
    // Publishing has its own list: a viewer's address may not publish.
    const push = await statusOf(handler, "/live/cam1", {
      method: "PUT",
      body: "x",
    }, from("198.51.100.7"));
    assertEquals(push.status, 403);
    // Not guarded by the lists: status.
    assertEquals((await statusOf(handler, "/status", {}, from("203.0.113.1"))).status, 200);
  });
});
