// Edges on loopback: --relay-all mirrors every mount of an origin and follows them as they end;
// /status tells where each mount pulls from and how far behind it is.
import { assert, assertEquals } from "@std/assert";
import { untilDefined as until } from "../bench/_proc.ts";
import { mountUrl, originOf } from "../lib/ingest/relay.ts";
import { CliServer, ffmpegPush, fixturePath, run } from "./_cli.ts";

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
