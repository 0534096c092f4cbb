/**
 * The recorder, its HTTP routes and time-shifted joins together, through the CLI: a looped H.264
 * + AAC file recorded with `--record` in 4 s files and a 6 s buffer. The recordings route lists
 * the recorder's own files and serves byte ranges of them, each finished file is a `record`
 * webhook event, and `?from=-10s` (older than the buffer) starts in the recordings and runs on
 * into live as one stream that ffmpeg decodes.
 */

import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { sleep, until } from "../bench/_proc.ts";
import { CliServer, fixturePath } from "./_cli.ts";
import { decode, mkvinfo } from "./_recordings.ts";

interface Listed {
  name: string;
  bytes: number;
  finished: boolean;
  url: string;
}

Deno.test("--record files are listed, served by range, announced by webhook, and ?from= joins run from them into live", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_record_shift_" });
  const events: Array<{ type: string; file?: string; bytes?: number }> = [];
  const receiver = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (r) => {
    events.push(await r.json());
    return new Response(null, { status: 204 });
  });
  try {
    await using server = await CliServer.start([
      ...["--port", "0", "--loop", "--buffer", "6s"],
      ...["--record", dir, "--record-segment", "4s"],
      ...["--webhook", `http://127.0.0.1:${receiver.addr.port}/hook`],
      fixturePath("h264_aac.mkv"),
    ]);
    const finished = async () => {
      const response = await fetch(server.url("/live/stream/recordings"));
      const { recordings }: { recordings: Listed[] } = await response.json();
      return recordings.filter((f) => f.finished);
    };
    assert(await until(async () => (await finished()).length >= 2, 30_000), server.log);
    await sleep(4000); // media older than the 6 s buffer, kept only in the recordings

    // The recorder's files, listed and served: a range is the file's own bytes.
    const file = (await finished())[0];
    const onDisk = await Deno.readFile(`${dir}/stream/${file.name}`);
    assertEquals(file.bytes, onDisk.byteLength);
    const part = await fetch(server.url(file.url), { headers: { range: "bytes=100-4195" } });
    assertEquals(part.status, 206);
    assertEquals(part.headers.get("content-range"), `bytes 100-4195/${onDisk.byteLength}`);
    assertEquals(await part.bytes(), onDisk.subarray(100, 4196));
    const info = await mkvinfo(`${dir}/stream/${file.name}`);
    assertEquals(info.code, 0, info.out);
    assert(info.cues > 0 && info.duration !== undefined, info.out);

    // Each finished file was a `record` event with its path and size.
    const recorded = events.filter((e) => e.type === "record");
    assert(
      recorded.some((e) => e.file === `${dir}/stream/${file.name}` && e.bytes === file.bytes),
      JSON.stringify(events),
    );

    // A join 10 s back starts in the recordings (the buffer holds 6 s) and goes on live.
    const capture = `${dir}/capture.mkv`;
    const response = await fetch(server.url("/live/stream?from=-10s"));
    assertEquals(response.status, 200);
    const out = await Deno.open(capture, { write: true, create: true });
    const copying = response.body!.pipeTo(out.writable).catch(() => {});
    assert(
      await until(() => server.log.includes("went on live after"), 20_000),
      `the shifted viewer never reached the buffer:\n${server.log}`,
    );
    await sleep(2000);
    server.kill("SIGTERM"); // the stream ends cleanly for the viewer, then the server exits
    await copying;
    assertEquals(await server.exit(), 0, server.log);
    const decoded = await decode(capture);
    assertEquals(decoded.code, 0, decoded.out);
    assertEquals(decoded.out.trim(), "", "ffmpeg complained about the time-shifted capture");
    const whole = await mkvinfo(capture);
    assertEquals(whole.code, 0, whole.out);
    assertGreaterOrEqual(whole.out.match(/\+ Cluster/g)?.length ?? 0, 5, "clusters captured");
  } finally {
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
