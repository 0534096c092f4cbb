import { assert, assertEquals, assertRejects } from "@std/assert";
import { scopeOf, UrlSigner, UrlSignerError } from "../lib/server/access/url_signer.ts";

/** A fresh secret for each run: no secret is kept in the repository. */
function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const now = () => Math.floor(Date.now() / 1000);

Deno.test("UrlSigner: a signed mount path covers the mount and everything under it, until expiry", async () => {
  const signer = await UrlSigner.create(randomSecret());
  const expiry = now() + 60;
  const signed = await signer.sign("/live/cam1", expiry);
  const prefix = signed.slice(0, -"/live/cam1".length);
  assert(/^\/s\/[0-9]+\/[A-Za-z0-9_-]{43}$/.test(prefix), prefix);
  for (const path of ["/live/cam1", "/live/cam1/index.m3u8", "/live/cam1/e/abc/v1/12.3.m4s"]) {
    const found = await signer.verify(prefix + path);
    assert(found?.ok, path);
    assertEquals([found.path, found.prefix, found.scope, found.expiry], [
      path,
      prefix,
      "/live/cam1/",
      expiry,
    ]);
  }
  // Another mount, a longer name with the same start, or a path outside the mount: refused.
  for (const path of ["/live/cam2", "/live/cam10/index.m3u8", "/status", "/stream"]) {
    assertEquals((await signer.verify(prefix + path))?.ok, false, path);
  }
  // Just after the expiry the same URL fails.
  const late = await signer.verify(signed, (expiry + 1) * 1000);
  assertEquals(late, { ok: false, path: "/live/cam1", prefix, reason: "This URL has expired" });
});

Deno.test("UrlSigner: changing any one character of the signature or the expiry makes it fail", async () => {
  const signer = await UrlSigner.create(randomSecret());
  const signed = await signer.sign("/live/cam1/index.m3u8", now() + 60);
  const end = signed.indexOf("/live/");
  let tried = 0;
  for (let i = 3; i < end; i++) {
    if (signed[i] === "/") continue;
    // Every other character of the alphabet at this position (digits only in the expiry).
    const alphabet = i < signed.indexOf("/", 3)
      ? "0123456789"
      : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (const c of alphabet) {
      if (c === signed[i]) continue;
      const changed = signed.slice(0, i) + c + signed.slice(i + 1);
      const found = await signer.verify(changed);
      assertEquals(found?.ok, false, changed);
      tried++;
    }
  }
  assert(tried > 43 * 60, `tried ${tried}`);
  assert((await signer.verify(signed))?.ok);
});

Deno.test("UrlSigner: another secret, a malformed prefix or an unsignable path is refused", async () => {
  const signer = await UrlSigner.create(randomSecret());
  const other = await UrlSigner.create(randomSecret());
  const signed = await signer.sign("/stream", now() + 60);
  assertEquals((await other.verify(signed))?.ok, false);
  // The default mount's paths share the scope "/".
  assertEquals((await signer.verify(signed.replace("/stream", "/")))?.ok, true);
  assertEquals((await signer.verify(signed.replace("/stream", "/player")))?.ok, true);
  const parts = signed.split("/");
  for (
    const bad of [
      "/s/",
      `/s/${parts[2]}/${parts[3]}`,
      `/s/${parts[2]}/${parts[3]}x/stream`,
      `/s/-1/${parts[3]}/stream`,
      `/s/${parts[2]}/${parts[3]}=/stream`,
    ]
  ) {
    const found = await signer.verify(bad);
    assertEquals(found?.ok, false, bad);
  }
  assertEquals(await signer.verify("/live/cam1"), undefined);
  await assertRejects(() => signer.sign("/status", now()), UrlSignerError, "Cannot sign");
  await assertRejects(() => signer.sign("/live/a?x=1", now()), UrlSignerError);
  await assertRejects(() => signer.sign("/live/a/index.m3u8?x=1", now()), UrlSignerError);
  await assertRejects(() => UrlSigner.create("short"), UrlSignerError, "too short");
  assertEquals(scopeOf("/live/a.b_c-d/x"), "/live/a.b_c-d/");
  assertEquals(scopeOf("/live/.hidden"), undefined);
});
