import { assert, assertEquals, assertThrows } from "@std/assert";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { grantAllows, JwtConfigError, JwtVerifier } from "../lib/server/access/jwt_verifier.ts";

const encoder = new TextEncoder();

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("JwtVerifier (HS256) takes valid tokens, honours exp and nbf, refuses other secrets", async () => {
  const secret = randomSecret();
  const verifier = JwtVerifier.create({ secret });
  const key = encoder.encode(secret);
  const sign = (claims: Record<string, unknown>, k = key) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(k);
  const t = Math.floor(Date.now() / 1000);
  const ok = await verifier.verify(await sign({ exp: t + 60, sub: "alice" }));
  assertEquals(ok, { ok: true, grant: { mounts: undefined, actions: ["read"], subject: "alice" } });
  assertEquals(await verifier.verify(await sign({ exp: t - 1 })), {
    ok: false,
    reason: "The token has expired",
  });
  assertEquals(await verifier.verify(await sign({ nbf: t + 60 })), {
    ok: false,
    reason: "The token is not valid yet",
  });
  const forged = await sign({ exp: t + 60 }, encoder.encode(randomSecret()));
  assertEquals(await verifier.verify(forged), { ok: false, reason: "Invalid token signature" });
  // One character changed in the payload breaks the signature.
  const good = await sign({ exp: t + 60, mounts: ["cam1"] });
  const [h, p, s] = good.split(".");
  const tampered = [h, p.slice(0, -2) + (p.at(-2) === "A" ? "B" : "A") + p.at(-1), s].join(".");
  assertEquals((await verifier.verify(tampered)).ok, false);
  assertEquals((await verifier.verify("not.a.jwt")).ok, false);
  // No key set: an ES256 token is not accepted however it is signed.
  const { privateKey } = await generateKeyPair("ES256");
  const es = await new SignJWT({}).setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  assertEquals(await verifier.verify(es), {
    ok: false,
    reason: "Tokens signed with ES256 are not accepted",
  });
});

Deno.test("JwtVerifier (JWKS) verifies ES256 and RS256 tokens by kid, and refuses unknown keys", async () => {
  const es = await generateKeyPair("ES256");
  const rs = await generateKeyPair("RS256");
  const stranger = await generateKeyPair("ES256");
  const jwks = {
    keys: [
      { ...(await exportJWK(es.publicKey)), kid: "es", alg: "ES256" },
      { ...(await exportJWK(rs.publicKey)), kid: "rs", alg: "RS256" },
    ],
  };
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(path, JSON.stringify(jwks));
    const verifier = await JwtVerifier.fromFile(path);
    const t = Math.floor(Date.now() / 1000);
    const sign = (alg: string, kid: string, key: CryptoKey, claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(key);
    const esToken = await sign("ES256", "es", es.privateKey, {
      exp: t + 60,
      mounts: ["cam1", "cam2"],
      actions: ["read", "publish"],
    });
    assertEquals(await verifier.verify(esToken), {
      ok: true,
      grant: { mounts: ["cam1", "cam2"], actions: ["read", "publish"], subject: undefined },
    });
    const rsToken = await sign("RS256", "rs", rs.privateKey, { exp: t + 60, mounts: "cam3" });
    const rsResult = await verifier.verify(rsToken);
    assert(rsResult.ok);
    assertEquals(rsResult.grant.mounts, ["cam3"]);
    const strangerToken = await sign("ES256", "es", stranger.privateKey, { exp: t + 60 });
    assertEquals((await verifier.verify(strangerToken)).ok, false);
    const expired = await sign("ES256", "es", es.privateKey, { exp: t - 5 });
    assertEquals(await verifier.verify(expired), { ok: false, reason: "The token has expired" });
    // An HS256 token signed with the public key's text (the classic alg confusion) is refused.
    const confused = await new SignJWT({ exp: t + 60 }).setProtectedHeader({ alg: "HS256" })
      .sign(encoder.encode(JSON.stringify(jwks.keys[0])));
    assertEquals((await verifier.verify(confused)).ok, false);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("JwtVerifier claims: malformed mounts or actions are refused; grants limit action and mount", async () => {
  const secret = randomSecret();
  const verifier = JwtVerifier.create({ secret });
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(encoder.encode(secret));
  assertEquals((await verifier.verify(await sign({ mounts: [1] }))).ok, false);
  assertEquals((await verifier.verify(await sign({ actions: ["delete"] }))).ok, false);
  assertEquals((await verifier.verify(await sign({ actions: "publish" }))).ok, true);
  const read = { actions: ["read"] as const };
  assertEquals(grantAllows(read, "read", "any"), true);
  assertEquals(grantAllows(read, "publish", "any"), false);
  const cams = { mounts: ["cam1"], actions: ["read", "publish"] as const };
  assertEquals(grantAllows(cams, "publish", "cam1"), true);
  assertEquals(grantAllows(cams, "read", "cam2"), false);
  assertEquals(grantAllows({ mounts: ["*"], actions: ["read"] }, "read", "x"), true);
});

Deno.test("JwtVerifier refuses short secrets, empty key sets and private keys", async () => {
  assertThrows(() => JwtVerifier.create({ secret: "short" }), JwtConfigError, "too short");
  assertThrows(() => JwtVerifier.create({ jwks: { keys: [] } }), JwtConfigError, "no keys");
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(privateKey);
  assertThrows(() => JwtVerifier.create({ jwks: { keys: [jwk] } }), JwtConfigError, "private");
});
