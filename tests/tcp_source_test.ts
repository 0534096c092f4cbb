import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { listenTcpSource } from "../lib/ingest/tcp_source.ts";
import { demux, randomChunks, readFixture, recorder } from "./_util.ts";
import { fixturePath } from "./_cli.ts";

/** Collects everything `readable` yields, in the background, until it ends or is cancelled. */
function collect(readable: ReadableStream<Uint8Array>) {
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return concatBytes(chunks);
      chunks.push(value);
    }
  })();
  return {
    get length() {
      return chunks.reduce((n, c) => n + c.length, 0);
    },
    async cancel() {
      await reader.cancel();
      return await done;
    },
    done,
  };
}

async function send(port: number, chunks: Uint8Array[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  for (const chunk of chunks) await conn.write(chunk);
  conn.close();
}

Deno.test("listenTcpSource passes one source after another and refuses concurrent ones", async () => {
  const fixture = await readFixture("sample.webm");
  const { log, lines, waitFor } = recorder();
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    takeoverWait: 50,
    log,
  });
  assert(addr.port > 0);
  const out = collect(readable);

  // First source: connected, then two more try while it is still sending.
  const connected = waitFor(/^TCP source connected/);
  const first = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  await connected;
  const refusedAtOnce = waitFor(/^Refused TCP source/);
  const held = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  const t0 = performance.now();
  const third = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  await refusedAtOnce; // the third: one connection at most waits its turn
  assertEquals(await third.read(new Uint8Array(16)).catch(() => null), null);
  third.close();
  // The one next in line is refused when the source is still there after takeoverWait.
  assertEquals(await held.read(new Uint8Array(16)).catch(() => null), null);
  assert(performance.now() - t0 >= 45);
  held.close();
  for (const chunk of randomChunks(fixture, 1, 8192)) await first.write(chunk);
  const ended = waitFor(/ended$/);
  first.close();
  await ended;

  // The next connection takes over: its bytes follow.
  const ended2 = waitFor(/ended$/);
  await send(addr.port, randomChunks(fixture, 2, 8192));
  await ended2;
  const bytes = await out.cancel();
  assertEquals(bytes.length, 2 * fixture.length);
  assertEquals(bytes.subarray(0, fixture.length), fixture);
  assertEquals(bytes.subarray(fixture.length), fixture);
  assertEquals(
    demux(bytes).blocks.length,
    2 * demux(fixture).blocks.length,
  );
  assertMatch(
    lines[0],
    /^info Listening for a source on tcp:\/\/127\.0\.0\.1:\d+$/,
  );
  const refusals = lines.filter((l) =>
    /^warn Refused TCP source from 127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ is still connected$/
      .test(l)
  );
  assertEquals(refusals.length, 2);
  // The listener is closed after cancel().
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port: addr.port }));
});

Deno.test("listenTcpSource lets a connection that arrives before the old one is drained take over", async () => {
  const { log, lines, waitFor } = recorder();
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    log,
  });
  const reader = readable.getReader();
  const connected = waitFor(/connected/);
  const first = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  await first.write(new Uint8Array([1, 2]));
  first.close(); // its bytes and end are not read yet: nobody is pulling
  await connected;
  const second = await Deno.connect({
    hostname: "127.0.0.1",
    port: addr.port,
  });
  await second.write(new Uint8Array([3]));
  second.close();
  const got: number[] = [];
  while (got.length < 3) got.push(...(await reader.read()).value!);
  assertEquals(got, [1, 2, 3]);
  await reader.cancel();
  assert(!lines.some((l) => l.includes("Refused")));
});

Deno.test("listenTcpSource receives an ffmpeg push (-f matroska tcp://)", async () => {
  const { log, waitFor } = recorder();
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    log,
  });
  const out = collect(readable);
  const ended = waitFor(/ended$/);
  const ffmpeg = new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostdin",
      "-i",
      fixturePath("sample.webm"),
      "-c",
      "copy",
      "-f",
      "matroska",
      `tcp://127.0.0.1:${addr.port}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  const result = await ffmpeg.output();
  assertEquals(
    result.code,
    0,
    new TextDecoder().decode(result.stderr),
  );
  await ended;
  const bytes = await out.cancel();
  assertEquals(Array.from(bytes.subarray(0, 4)), [0x1A, 0x45, 0xDF, 0xA3]);
  const fixture = demux(await readFixture("sample.webm"));
  const pushed = demux(bytes);
  assertEquals(pushed.header.tracks.length, fixture.header.tracks.length);
  assertEquals(pushed.blocks.length, fixture.blocks.length);
  assertEquals(
    pushed.blocks.map((b) => b.frames.length),
    fixture.blocks.map((b) => b.frames.length),
  );
});

Deno.test("listenTcpSource drops a silent source so another can take over", async () => {
  const { log, lines, waitFor } = recorder();
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 50,
    log,
  });
  const out = collect(readable);
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  await stalled.write(new Uint8Array([1, 2, 3]));
  await waitFor(/dropped: no data for 50 ms$/);
  const ended = waitFor(/ended$/);
  await send(addr.port, [new Uint8Array([4, 5])]);
  await ended;
  assertEquals(await out.cancel(), new Uint8Array([1, 2, 3, 4, 5]));
  stalled.close();
  assert(lines.some((l) => l.startsWith("warn TCP source from")));
});

Deno.test("listenTcpSource ends after grace without a new source, and on signal", async () => {
  const { log, lines } = recorder();
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    grace: 40,
    log,
  });
  const out = collect(readable);
  await send(addr.port, [new Uint8Array([7])]);
  const t0 = performance.now();
  assertEquals(await out.done, new Uint8Array([7]));
  assert(performance.now() - t0 < 2000);
  assertMatch(lines.at(-1)!, /^warn No TCP source came back within 40 ms/);
  await assertRejects(() => Deno.connect({ hostname: "127.0.0.1", port: addr.port }));

  const stop = new AbortController();
  const second = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
  });
  const waiting = collect(second.readable);
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: second.addr.port,
  });
  await conn.write(new Uint8Array([1]));
  while (waiting.length < 1) await new Promise((r) => setTimeout(r, 2));
  stop.abort();
  assertEquals(await waiting.done, new Uint8Array([1]));
  // The source's connection was closed by the listener.
  assertEquals(await conn.read(new Uint8Array(1)).catch(() => null), null);
  conn.close();
});

Deno.test("listenTcpSource onConnect lets the consumer restart its parser after a killed encoder", async () => {
  const fixture = await readFixture("sample.webm");
  const cut = 200_001; // the first encoder dies inside an element
  const demuxer = new MatroskaDemuxer();
  let reader = new EbmlReader();
  const connects: number[] = [];
  const blocksPer = [0, 0, 0];
  const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) =>
    demuxer.push(e, (m) => {
      if (m.type === "block") blocksPer[connects.length]++;
    });
  const { addr, readable } = listenTcpSource({
    hostname: "127.0.0.1",
    port: 0,
    onConnect(n) {
      connects.push(n);
      reader = new EbmlReader();
    },
  });
  const sending = (async () => {
    await send(addr.port, randomChunks(fixture.subarray(0, cut), 3, 8192));
    await send(addr.port, randomChunks(fixture, 4, 8192));
  })();
  let bytes = 0;
  for await (const chunk of readable) {
    reader.push(chunk, emit);
    bytes += chunk.length;
    if (bytes === cut + fixture.length) break; // cancels: closes the listener
  }
  await sending;
  assertEquals(connects, [1, 2]);
  assertEquals(blocksPer[2], demux(fixture).blocks.length);
});
