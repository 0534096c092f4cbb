// The access flags through the CLI: a push-only server whose config file gives per-mount publish
// tokens as an object, `mkserver sign`'s usage, and the exit code 2 of bad access settings.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { CliServer, fixturePath, run, runCli } from "./_cli.ts";

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function curlPut(url: string, token: string): Promise<string> {
  return run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-T",
    fixturePath("sample.webm"),
    "-H",
    `Authorization: Bearer ${token}`,
    url,
  ]).then((r) => r.stdout);
}

Deno.test("`mkserver --config` with per-mount publish tokens (an object) and a view token: PUT with the mount's own token only; viewers with the view token", async () => {
  const cam1 = randomSecret();
  const cam2 = randomSecret();
  const view = randomSecret();
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/mkserver.jsonc`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        "publish-tokens": { cam1, cam2 },
        "view-token": view,
        "source-grace": 0,
      }),
    );
    await using server = await CliServer.start(["--port", "0", "--config", config]);
    const url = server.url("/live/cam1");
    // A viewer that comes first waits for the source.
    const viewer = fetch(url, { headers: { authorization: `Bearer ${view}` } });
    assertEquals(await curlPut(url, cam2), "401");
    assertEquals(await curlPut(url, "wrong"), "401");
    assertEquals(await curlPut(url, cam1), "200");
    const response = await viewer;
    assertEquals(response.status, 200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    assertEquals(Array.from(bytes.subarray(0, 4)), [0x1a, 0x45, 0xdf, 0xa3]);
    const refused = await fetch(server.url("/live/cam2"));
    assertEquals([refused.status, refused.headers.get("www-authenticate")], [
      401,
      'Bearer realm="mkserver"',
    ]);
    await refused.body?.cancel();
    // Each refusal has a log line, which never holds a token.
    await server.waitForLine(/WARN Refused a source of \/live\/cam1 from 127\.0\.0\.1/);
    assert(!server.log.includes(cam2) && !server.log.includes(view), server.log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver sign` prints the signed path last; takes the secret from the environment or --config; exits 2 on bad usage", async () => {
  const secret = randomSecret();
  const flag = await runCli(["sign", "--url-secret", secret, "--expires", "10m", "/live/cam1"]);
  assertEquals(flag.code, 0, flag.stderr);
  const path = flag.stdout.trim().split("\n").at(-1)!;
  assertMatch(path, /^\/s\/[0-9]+\/[A-Za-z0-9_-]{43}\/live\/cam1$/);
  const expiry = Number(path.split("/")[2]);
  const now = Date.now() / 1000;
  assert(Math.abs(expiry - (now + 600)) < 30, `${expiry} vs ${now}`);
  const fromEnv = await runCli(["sign", "/live/cam1"], { env: { MKSERVER_URL_SECRET: secret } });
  assertEquals(fromEnv.code, 0, fromEnv.stderr);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/c.jsonc`, `{"port": 9, "url-secret": "${secret}"}`);
    const fromFile = await runCli(["sign", "--config", `${dir}/c.jsonc`, "/stream"]);
    assertEquals(fromFile.code, 0, fromFile.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const help = await runCli(["sign", "--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "Usage: mkserver sign");
  const bad: [string[], string][] = [
    [["sign", "--url-secret", secret], "sign needs one PATH"],
    [["sign", "--url-secret", "short", "/live/a"], "too short"],
    [["sign", "--url-secret", secret, "/status"], "Cannot sign '/status'"],
    [["sign", "--url-secret", secret, "--expires", "soon", "/live/a"], "Invalid --expires"],
    [["sign", "--nope", "/live/a"], "Unknown option of sign: --nope"],
    [["sign", "/live/a"], "no --url-secret given"],
  ];
  for (const [args, message] of bad) {
    const result = await runCli(args, { env: { MKSERVER_URL_SECRET: "" } });
    assertEquals(result.code, 2, args.join(" "));
    assertStringIncludes(result.stderr, message);
  }
});

Deno.test("`mkserver` exits 2 naming the flag for bad access settings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, "{}");
    const cases: [string[], string][] = [
      [["--url-secret", "short"], "Invalid --url-secret"],
      [["--jwt-secret", "short"], "Invalid --jwt-secret"],
      [["--jwks", `${dir}/missing.json`], "Cannot read the JWKS file"],
      [["--jwks", `${dir}/bad.json`], "The JWKS has no keys"],
      [["--view-allow", "10.0.0.0/33"], "Invalid --view-allow"],
      [["--publish-deny", "nope"], "Invalid --publish-deny"],
      [["--publish-tokens", "cam1"], "Invalid --publish-tokens"],
      [["--auth-url", "ftp://x/"], "Invalid --auth-url"],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(["--port", "0", ...flags, "testdata/sample.webm"]);
      assertEquals(result.code, 2, `${flags.join(" ")}: ${result.stderr}`);
      assertStringIncludes(result.stderr, message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("`mkserver --jwks FILE --auth-url URL`: an ES256 JWT from the test's key set, or the service's yes, lets a viewer in", async () => {
  const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const stranger = await generateKeyPair("ES256");
  const service = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (r) => {
    const question = await r.json();
    return new Response(null, { status: question.token === "letmein" ? 200 : 401 });
  });
  const dir = await Deno.makeTempDir();
  try {
    const jwks = `${dir}/keys.json`;
    await Deno.writeTextFile(
      jwks,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1" }] }),
    );
    await using server = await CliServer.start([
      "--port",
      "0",
      "--loop",
      "--jwks",
      jwks,
      "--auth-url",
      `http://127.0.0.1:${service.addr.port}/check`,
      "testdata/sample.webm",
    ]);
    const view = async (query: string) => {
      const response = await fetch(server.url(`/stream${query}`));
      await response.body?.cancel();
      return response.status;
    };
    const jwt = await new SignJWT({ mounts: ["stream"] }).setProtectedHeader({
      alg: "ES256",
      kid: "k1",
    }).setExpirationTime("1m").sign(privateKey);
    const forged = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(stranger.privateKey);
    assertEquals(await view(`?jwt=${jwt}`), 200);
    assertEquals(await view("?token=letmein"), 200);
    assertEquals(await view(""), 403); // the service said no
    assertEquals(await view(`?jwt=${forged}`), 403);
  } finally {
    await service.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
