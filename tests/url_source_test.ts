import {
  assert,
  assertEquals,
  assertGreaterOrEqual,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { openUrlSource, UrlSourceError } from "../lib/ingest/url_source.ts";
import { demux, readFixture, recorder } from "./_util.ts";

/** Reads from `reader` until `count` bytes have arrived. */
async function readBytes(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let have = 0;
  while (have < count) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    have += value.length;
  }
  return concatBytes(chunks);
}

/** A body that delivers `bytes` and ends. */
function body(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return ReadableStream.from([bytes]);
}

Deno.test("openUrlSource streams a fixture twice in order across a server restart", async () => {
  const fixture = (await readFixture("sample.webm")).slice();
  const { log, lines, waitFor } = recorder({ matchPast: true });
  const first = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(fixture),
  );
  const port = first.addr.port;
  const source = await openUrlSource(`http://127.0.0.1:${port}/stream`, {
    minDelay: 20,
    maxDelay: 80,
    log,
  });
  const reader = source.getReader();
  const one = await readBytes(reader, fixture.length);
  assertEquals(one, fixture);
  // The source is pulled: it sees the end of the body, drops and retries while the server is down.
  const next = readBytes(reader, fixture.length);
  await first.shutdown();
  await waitFor(/unavailable/);
  const second = Deno.serve(
    { hostname: "127.0.0.1", port, onListen() {} },
    () => new Response(fixture),
  );
  const two = await next;
  assertEquals(two, fixture);
  await reader.cancel();
  await second.shutdown();

  assertMatch(
    lines[0],
    new RegExp(
      `^warn Source http://127\\.0\\.0\\.1:${port}/stream dropped: end of stream; reconnecting in 20 ms$`,
    ),
  );
  assert(lines.some((l) => /unavailable: .*; retrying in \d+ ms$/.test(l)));
  assertEquals(
    lines.at(-1),
    `info Source http://127.0.0.1:${port}/stream is back`,
  );
  // The demuxer continues the second copy after the first.
  const blocks = demux([one, two]).blocks;
  assertEquals(blocks.length, 2 * demux(fixture).blocks.length);
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i].track === blocks[i - 1].track) {
      assert(blocks[i].time >= blocks[i - 1].time);
    }
  }
});

Deno.test("openUrlSource backs off exponentially up to maxDelay and resets after data", async () => {
  const { log, lines } = recorder({ matchPast: true });
  // 1: data; 2-6: 503; 7: data; 8 onwards: 503.
  const calls: number[] = [];
  const fakeFetch = (_input: string | URL | Request, init?: RequestInit) => {
    calls.push(performance.now());
    const n = calls.length;
    assert(init?.signal instanceof AbortSignal);
    if (n === 1 || n === 7) {
      return Promise.resolve(new Response(body(new Uint8Array([n]))));
    }
    return Promise.resolve(
      new Response("busy", { status: 503, statusText: "Service Unavailable" }),
    );
  };
  const source = await openUrlSource("http://example.invalid/live.webm", {
    minDelay: 5,
    maxDelay: 40,
    log,
    fetch: fakeFetch as typeof fetch,
  });
  const reader = source.getReader();
  assertEquals((await reader.read()).value, new Uint8Array([1]));
  assertEquals((await reader.read()).value, new Uint8Array([7]));
  const last = reader.read(); // keeps the source pulling: it goes on retrying
  while (calls.length < 9) await new Promise((r) => setTimeout(r, 5));
  await reader.cancel();
  assertEquals((await last).done, true);

  const delays = lines.filter((l) => l.startsWith("warn")).map((l) =>
    Number(/in (\d+) ms$/.exec(l)?.[1])
  );
  // drop after data: 5; failures: 10, 20, 40, 40, 40; drop after data: 5; failure: 10.
  assertEquals(delays.slice(0, 8), [5, 10, 20, 40, 40, 40, 5, 10]);
  assertStringIncludes(lines[1], "unavailable: HTTP 503 Service Unavailable");
  assertEquals(lines.filter((l) => l.endsWith("is back")).length, 1);
  // The waits really happen (timers may fire a little early, never much).
  const waits = [5, 10, 20, 40, 40, 40, 5, 10];
  for (let i = 0; i < waits.length; i++) {
    assertGreaterOrEqual(calls[i + 1] - calls[i], waits[i] - 2);
  }
});

Deno.test("openUrlSource throws an error with the status when the first attempt fails", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("no such mount", { status: 404 }),
  );
  const error = await assertRejects(
    () => openUrlSource(`http://127.0.0.1:${server.addr.port}/live.webm`),
    UrlSourceError,
    "HTTP 404 Not Found",
  );
  assertEquals(error.status, 404);
  await server.shutdown();
  // Nothing listens there any more: a network error, without a status.
  const refused = await assertRejects(
    () => openUrlSource(`http://127.0.0.1:${server.addr.port}/live.webm`),
    UrlSourceError,
    `Cannot open http://127.0.0.1:${server.addr.port}/live.webm:`,
  );
  assertEquals(refused.status, undefined);
  await assertRejects(() => openUrlSource("ftp://host/x.webm"), TypeError);
  await assertRejects(
    () => openUrlSource("http://host/x.webm", { minDelay: -1 }),
    TypeError,
  );
});

Deno.test("openUrlSource ends with the body when reconnect is off, and errors on a broken body", async () => {
  const fixture = (await readFixture("audio_only.webm")).slice();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(fixture),
  );
  const source = await openUrlSource(
    `http://127.0.0.1:${server.addr.port}/`,
    { reconnect: false },
  );
  assertEquals(await new Response(source).bytes(), fixture);
  await server.shutdown();

  let pulls = 0;
  const broken = () =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          pull(c) {
            if (pulls++ === 0) c.enqueue(new Uint8Array([1, 2]));
            else c.error(new Error("connection reset"));
          },
        }),
      ),
    );
  const failing = await openUrlSource("http://example.invalid/", {
    reconnect: false,
    fetch: broken as typeof fetch,
  });
  const reader = failing.getReader();
  assertEquals((await reader.read()).value, new Uint8Array([1, 2]));
  await assertRejects(() => reader.read(), Error, "failed: connection reset");
});

Deno.test("openUrlSource cancel() aborts the fetch in flight", async () => {
  let pending: AbortSignal | undefined;
  const fakeFetch = (_input: string | URL | Request, init?: RequestInit) => {
    if (pending === undefined && init?.signal && calls++ > 0) {
      pending = init.signal;
      // Never answers: only the abort ends it.
      return new Promise<Response>((_, reject) =>
        init.signal!.addEventListener(
          "abort",
          () => reject(init.signal!.reason),
        )
      );
    }
    return Promise.resolve(new Response(body(new Uint8Array([9]))));
  };
  let calls = 0;
  const source = await openUrlSource("http://example.invalid/", {
    minDelay: 1,
    fetch: fakeFetch as typeof fetch,
  });
  const reader = source.getReader();
  assertEquals((await reader.read()).value, new Uint8Array([9]));
  const next = reader.read(); // the body ended: this waits on the second fetch
  while (pending === undefined) await new Promise((r) => setTimeout(r, 1));
  assertEquals(pending.aborted, false);
  await reader.cancel();
  assertEquals(pending.aborted, true);
  assertEquals((await next).done, true);
});

Deno.test("openUrlSource cancel() releases a live response on the server", async () => {
  let released!: () => void;
  const releasedP = new Promise<void>((r) => released = r);
  let timer: ReturnType<typeof setInterval> | undefined;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            timer = setInterval(() => c.enqueue(new Uint8Array(100)), 5);
          },
          cancel() {
            clearInterval(timer);
            released();
          },
        }),
      ),
  );
  const source = await openUrlSource(`http://127.0.0.1:${server.addr.port}/`);
  const reader = source.getReader();
  assert((await reader.read()).value!.length > 0);
  await reader.cancel();
  await releasedP;
  await server.shutdown();
});

Deno.test("openUrlSource ends cleanly on signal, and after grace without the source", async () => {
  const stop = new AbortController();
  const source = await openUrlSource("http://example.invalid/", {
    signal: stop.signal,
    fetch: (() => Promise.resolve(new Response(new ReadableStream()))) as typeof fetch,
  });
  const reader = source.getReader();
  const read = reader.read();
  stop.abort();
  assertEquals((await read).done, true);

  const { log, lines } = recorder({ matchPast: true });
  let n = 0;
  const t0 = performance.now();
  const gone = await openUrlSource("http://example.invalid/", {
    minDelay: 5,
    grace: 50,
    log,
    fetch: (() =>
      Promise.resolve(
        n++ === 0 ? new Response(body(new Uint8Array([1]))) : new Response(null, { status: 502 }),
      )) as typeof fetch,
  });
  assertEquals(await new Response(gone).bytes(), new Uint8Array([1]));
  const ms = performance.now() - t0;
  assert(ms >= 45 && ms < 1000, `ended after ${ms} ms`);
  assertMatch(lines.at(-1)!, /unavailable: HTTP 502; gave up after 50 ms$/);
});

Deno.test("openUrlSource drops a connection or a server that stays silent for idleTimeout", async () => {
  const { log, lines } = recorder({ matchPast: true });
  let n = 0;
  const cancelled: unknown[] = [];
  const fakeFetch = (_input: string | URL | Request, init?: RequestInit) => {
    n++;
    if (n === 2) {
      // Accepted but never answered: only the abort ends it.
      return new Promise<Response>((_, reject) =>
        init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason))
      );
    }
    // The first connection sends one byte and then nothing; the third sends one and ends.
    return Promise.resolve(
      new Response(
        n === 1
          ? new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new Uint8Array([1]));
            },
            cancel(reason) {
              cancelled.push(reason);
            },
          })
          : body(new Uint8Array([2])),
      ),
    );
  };
  const source = await openUrlSource("http://example.invalid/", {
    minDelay: 1,
    idleTimeout: 30,
    log,
    fetch: fakeFetch as typeof fetch,
  });
  const reader = source.getReader();
  assertEquals((await reader.read()).value, new Uint8Array([1]));
  assertEquals((await reader.read()).value, new Uint8Array([2]));
  await reader.cancel();
  assertStringIncludes(
    lines[0],
    "dropped: no data for 30 ms; reconnecting in 1 ms",
  );
  assertStringIncludes(
    lines[1],
    "unavailable: no answer for 30 ms; retrying in 2 ms",
  );
  assertEquals(cancelled.length, 1);
});

Deno.test("openUrlSource onConnect lets the consumer restart its parser after a cut connection", async () => {
  const fixture = (await readFixture("sample.webm")).slice();
  const cut = 123_457; // inside a block
  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(requests++ === 0 ? fixture.slice(0, cut) : fixture),
  );
  // The recipe for ingest: a new EbmlReader per connection, one demuxer throughout.
  const demuxer = new MatroskaDemuxer();
  let reader = new EbmlReader();
  const connects: number[] = [];
  const blocksPer = [0, 0, 0];
  const times: number[] = [];
  const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) =>
    demuxer.push(e, (m) => {
      if (m.type !== "block") return;
      blocksPer[connects.length]++;
      if (m.block.track === 1) times.push(m.block.time);
    });
  const source = await openUrlSource(`http://127.0.0.1:${server.addr.port}/`, {
    minDelay: 1,
    onConnect(n) {
      connects.push(n);
      reader = new EbmlReader();
    },
  });
  let bytes = 0;
  for await (const chunk of source) {
    reader.push(chunk, emit);
    bytes += chunk.length;
    if (bytes === cut + fixture.length) break; // cancels the source
  }
  reader.end(emit);
  await server.shutdown();
  assertEquals(connects, [1, 2]);
  assertEquals(blocksPer[2], demux(fixture).blocks.length);
  assert(times.every((t, i) => i === 0 || t > times[i - 1]), "video times increase");
});
