// Edges on loopback: --relay-all mirrors every mount of an origin and follows them as they end;
// /status tells where each mount pulls from and how far behind it is.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { untilDefined as until } from "../bench/_proc.ts";
import { feedPull, mountUrl, openPull, originOf, relayMount } from "../lib/ingest/relay.ts";
import { MountRegistry } from "../lib/stream/mount_registry.ts";
import { CliServer, ffmpegPush, fixturePath, run } from "./_cli.ts";
import { readFixture } from "./_util.ts";

interface StatusMount {
  name: string;
  state: string;
  relay?: { url: string; state: string; lagSeconds: number | null; reconnects: number };
}

async function mounts(server: CliServer): Promise<StatusMount[]> {
  return (await (await fetch(server.url("/status"))).json()).mounts;
}

Deno.test("originOf and mountUrl map stream URLs to an origin's mounts", () => {
  assertEquals(originOf("http://h:8080/stream"), { base: "http://h:8080", mount: "stream" });
  assertEquals(originOf("http://h:8080/live/cam%201"), { base: "http://h:8080", mount: "cam 1" });
  assertEquals(mountUrl("http://h:8080", "stream"), "http://h:8080/stream");
  assertEquals(mountUrl("http://h:8080", "cam"), "http://h:8080/live/cam");
});

/** An origin on loopback that answers every request with `body` and counts the requests. */
function fakeOrigin(body: Uint8Array<ArrayBuffer>) {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    paths.push(new URL(request.url).pathname);
    if (new URL(request.url).pathname === "/status") return Response.json({ mounts: [] });
    return new Response(body);
  });
  return { base: `http://127.0.0.1:${server.addr.port}`, paths, server };
}

Deno.test("relayMount pulls a URL into a mount of its name, and frees the name when the pull ends", async () => {
  const fixture = (await readFixture("sample.webm")).slice();
  const origin = fakeOrigin(fixture);
  const registry = new MountRegistry({ grace: 0 });
  try {
    const url = `${origin.base}/live/cam`;
    const result = await relayMount(registry, url, "edge-cam", { reconnect: false });
    assertEquals(result.bytes, fixture.length);
    assert(result.blocks > 0);
    assert(origin.paths.includes("/live/cam"));
    // The pull ended for good (no reconnect): the name is free for the next relay.
    assertEquals(registry.isPublishing("edge-cam"), false);
    const described = registry.get("edge-cam")?.source?.describe() as
      | { state?: string }
      | undefined;
    assertEquals(described?.state ?? "ended", "ended");
  } finally {
    registry.endAll();
    await origin.server.shutdown();
  }
});

Deno.test("openPull connects before anything is published and runs remux once; feedPull shows the status on the mount and ends it", async () => {
  const fixture = (await readFixture("sample.webm")).slice();
  const origin = fakeOrigin(fixture);
  const registry = new MountRegistry({ grace: 0 });
  try {
    let remuxed = 0;
    const pull = await openPull(`${origin.base}/stream`, {
      reconnect: false,
      remux: (source) => {
        remuxed++;
        return Promise.resolve(source);
      },
    });
    // "live" comes with the first bytes read, not with the response's head.
    assertEquals([pull.status.state, pull.status.reconnects, remuxed], ["connecting", 0, 1]);
    assertEquals(registry.isPublishing("stream"), false);
    const publication = registry.publish("stream");
    const fed = feedPull(pull, publication, {});
    assertEquals(publication.mount.source?.describe(), { ...pull.status });
    const result = await fed;
    assertEquals([result.bytes, pull.status.state], [fixture.length, "ended"]);
    publication.finish();
    await assertRejects(
      () => openPull(`${origin.base.replace(/:\d+$/, ":1")}/stream`, { reconnect: false }),
      Error,
    );
  } finally {
    registry.endAll();
    await origin.server.shutdown();
  }
});

Deno.test("--relay-all mirrors every mount of the origin, reports its lag, and follows a mount that ends", async () => {
  const TOKEN = "relay-test-token";
  await using origin = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    TOKEN,
    "--source-grace",
    "1",
    "--loop",
    fixturePath("sample.webm"),
  ]);
  const push = ffmpegPush("h264_aac.mkv", origin.url("/live/cam"), {
    token: TOKEN,
    timeout: 30_000,
  });
  await origin.waitForLine(/Source connected to \/live\/cam/);
  await using edge = await CliServer.start(["--port", "0", "--relay-all", origin.url()]);
  // Both mounts appear on the edge, relayed, with a known lag.
  const relayed = await until(
    async () => {
      const list = await mounts(edge);
      const ok = ["stream", "cam"].every((n) =>
        list.some((m) =>
          m.name === n && m.relay?.state === "live" && typeof m.relay.lagSeconds === "number"
        )
      );
      return ok ? list : undefined;
    },
    15_000,
    "both mounts relayed",
  );
  for (const m of relayed) {
    assertEquals(m.relay!.url, mountUrl(originOf(origin.url()).base, m.name));
    assert(m.relay!.lagSeconds! < 5, `lag of ${m.name}: ${m.relay!.lagSeconds} s`);
  }
  // A viewer of the edge's pushed mount decodes it.
  const decoded = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-i",
    edge.url("/live/cam"),
    "-t",
    "2",
    "-f",
    "null",
    "-",
  ], { timeout: 30_000 });
  assertEquals(decoded.stderr, "");
  // The push ends; the origin ends the mount after its grace; the edge follows.
  assertEquals((await push).code, 0);
  await until(
    async () => (await mounts(edge)).some((m) => m.name === "cam") ? undefined : true,
    20_000,
    "the edge to drop cam",
  );
  assert((await mounts(edge)).some((m) => m.name === "stream"));
  edge.kill("SIGTERM");
  assertEquals(await edge.exit(), 0);
  origin.kill("SIGTERM");
  assertEquals(await origin.exit(), 0);
});
