// Operating mkserver: the admin API, per-viewer status, and HTTPS.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { timingSafeEqual } from "../lib/server/bearer_token.ts";
import { createHandler } from "../lib/server/handler.ts";
import { Mount } from "../lib/stream/mount.ts";
import { CliServer, fixturePath } from "./_cli.ts";
import { demux, readFixture } from "./_util.ts";

async function liveMount(): Promise<Mount> {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream");
  mount.setHeader(header);
  for (const block of blocks.slice(0, 200)) mount.pushBlock(block);
  return mount;
}

const TOKEN = "test-token-not-a-secret";
const auth = { authorization: `Bearer ${TOKEN}` };

Deno.test("/admin is absent (404) unless an admin token is set", async () => {
  const handler = createHandler(await liveMount());
  const response = await handler(new Request("http://x/admin/viewers", { headers: auth }));
  assertEquals(response.status, 404);
  await response.body?.cancel();
});

Deno.test("/admin answers 401 without the right bearer token, and never logs the token", async () => {
  const lines: string[] = [];
  const log = {
    error: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(m),
    info: () => {},
    debug: () => {},
  };
  const handler = createHandler(await liveMount(), { adminToken: TOKEN, log });
  const attempts: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, {
    authorization: TOKEN,
  }];
  for (const headers of attempts) {
    const response = await handler(new Request("http://x/admin/viewers", { headers }));
    assertEquals(response.status, 401);
    await response.body?.cancel();
  }
  assert(lines.length > 0);
  assert(lines.every((l) => !l.includes(TOKEN) && !l.includes("wrong")));
});

Deno.test("/admin lists viewers, disconnects one, and ends the mount", async () => {
  const mount = await liveMount();
  const handler = createHandler(mount, { adminToken: TOKEN });
  const a = await handler(new Request("http://x/stream"), {
    remoteAddr: { hostname: "10.1.2.3", port: 5000 },
  });
  const b = await handler(new Request("http://x/stream"));
  const readerA = a.body!.getReader();
  await readerA.read();
  const list = await (await handler(new Request("http://x/admin/viewers", { headers: auth })))
    .json();
  assertEquals(list.viewers.length, 2);
  const first = list.viewers[0];
  assertEquals(first.address, "10.1.2.3:5000");
  assert(first.bytesSent > 0 && typeof first.joinedAt === "string");
  // The status page shows the same viewers.
  const status = await (await handler(new Request("http://x/status"))).json();
  assertEquals(
    status.mounts[0].clients.map((c: { id: number }) => c.id),
    list.viewers.map((v: { id: number }) => v.id),
  );
  // Disconnect the first: its response ends; the other stays.
  const del = await handler(
    new Request(`http://x/admin/viewers/${first.id}`, { method: "DELETE", headers: auth }),
  );
  assertEquals(del.status, 204);
  for (;;) if ((await readerA.read()).done) break;
  assertEquals(mount.clients.size, 1);
  const missing = await handler(
    new Request("http://x/admin/viewers/999", { method: "DELETE", headers: auth }),
  );
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  // End the mount: its stop signal fires for the ingest.
  const end = await handler(
    new Request("http://x/admin/mounts/stream/end", { method: "POST", headers: auth }),
  );
  assertEquals(end.status, 202);
  await end.body?.cancel();
  assert(mount.stopSignal.aborted);
  await b.body?.cancel();
});

Deno.test("timingSafeEqual compares tokens of any length correctly", () => {
  assert(timingSafeEqual("abc", "abc"));
  assert(!timingSafeEqual("abd", "abc"));
  assert(!timingSafeEqual("ab", "abc"));
  assert(!timingSafeEqual("abcd", "abc"));
  assert(!timingSafeEqual("", "abc"));
});

Deno.test("`mkserver --cert --key` serves the stream over HTTPS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A CA and a leaf certificate it signs (rustls refuses a CA certificate as the server's).
    const openssl = async (...args: string[]) => {
      const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
        .output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${dir}/ca.key`,
      "-out",
      `${dir}/ca.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=mkserver test CA",
    );
    await openssl(
      "req",
      ...ec,
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/leaf.csr`,
      "-subj",
      "/CN=localhost",
    );
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      `${dir}/leaf.csr`,
      "-CA",
      `${dir}/ca.pem`,
      "-CAkey",
      `${dir}/ca.key`,
      "-CAcreateserial",
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-extfile",
      `${dir}/leaf.ext`,
    );
    await using server = await CliServer.start([
      "--port",
      "0",
      "--cert",
      `${dir}/cert.pem`,
      "--key",
      `${dir}/key.pem`,
      fixturePath("audio_only.webm"),
    ]);
    assertStringIncludes(server.url(), "https://");
    const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(`${dir}/ca.pem`)] });
    try {
      const response = await fetch(server.url(), { client });
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "audio/webm");
      const reader = response.body!.getReader();
      const { value } = await reader.read();
      assertEquals(Array.from(value!.subarray(0, 4)), [0x1A, 0x45, 0xDF, 0xA3]);
      await reader.cancel();
    } finally {
      client.close();
    }
    server.kill("SIGTERM");
    assertEquals(await server.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a mount name with malformed percent-encoding is a 400, for viewers and the admin API", async () => {
  const handler = createHandler(await liveMount(), { adminToken: TOKEN });
  for (const path of ["/live/%zz", "/live/%", "/live/%C3%28"]) {
    const response = await handler(new Request(`http://x${path}`));
    assertEquals(response.status, 400, path);
    assertStringIncludes(await response.text(), "malformed percent-encoding");
  }
  const admin = await handler(
    new Request("http://x/admin/mounts/%zz/end", { method: "POST", headers: auth }),
  );
  assertEquals(admin.status, 400);
  await admin.body?.cancel();
  const viewer = await handler(new Request("http://x/stream"));
  assertEquals(viewer.status, 200);
  await viewer.body?.cancel();
});
