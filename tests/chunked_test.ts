import { assertEquals, assertMatch } from "@std/assert";
import { ingest } from "../lib/ingest/ingest.ts";
import { CHUNKED, LAST_CHUNK } from "../lib/server/chunked.ts";
import { serveMount } from "../lib/server/serve.ts";
import { Mount } from "../lib/stream/mount.ts";
import { joinWire } from "../lib/stream/wire_format.ts";
import { readFixture } from "./_util.ts";

const decoder = new TextDecoder();

/** Decodes a chunked body strictly (RFC 9112 section 7.1, no extensions or trailers). */
function dechunk(body: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf(10, at);
    const line = decoder.decode(body.subarray(at, eol + 1));
    if (!/^[0-9a-f]+\r\n$/.test(line)) throw new SyntaxError(`Bad chunk size line: ${line}`);
    const size = parseInt(line, 16);
    at = eol + 1;
    if (size === 0) {
      if (decoder.decode(body.subarray(at)) !== "\r\n") throw new SyntaxError("Bad last chunk");
      return chunks;
    }
    chunks.push(body.subarray(at, at + size));
    at += size;
    if (decoder.decode(body.subarray(at, at + 2)) !== "\r\n") throw new SyntaxError("No CRLF");
    at += 2;
  }
}

Deno.test("CHUNKED frames a chunk as its size in lowercase hex, CRLF, the data, CRLF", () => {
  for (
    const [length, size] of [[1, "1"], [26, "1a"], [4096, "1000"], [0xABCDE, "abcde"]] as const
  ) {
    const { wire } = joinWire([new Uint8Array(length).fill(7)], { format: CHUNKED });
    assertEquals(decoder.decode(wire.subarray(0, size.length + 2)), `${size}\r\n`);
    assertEquals(wire.length, size.length + 2 + length + 2);
    assertEquals(decoder.decode(wire.subarray(-2)), "\r\n");
  }
});

Deno.test("CHUNKED chunks followed by LAST_CHUNK make a chunked body that decodes to the payloads", () => {
  const payloads = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(4), new Uint8Array([5])];
  const wires = payloads.map((p) => joinWire([p], { format: CHUNKED }).wire);
  const body = new Uint8Array([...wires.flatMap((w) => [...w]), ...LAST_CHUNK]);
  assertEquals(dechunk(body), payloads);
  assertEquals(decoder.decode(LAST_CHUNK), "0\r\n\r\n");
});

/** Sends `GET /stream` over raw TCP and reads until the server closes: head and body apart. */
async function rawGet(port: number, version: "1.0" | "1.1") {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(`GET /stream HTTP/${version}\r\nHost: x\r\n\r\n`));
  const chunks = await Array.fromAsync(conn.readable);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const end = all.findIndex((_, i) =>
    all[i] === 13 && decoder.decode(all.subarray(i, i + 4)) === "\r\n\r\n"
  );
  return { head: decoder.decode(all.subarray(0, end)), body: all.subarray(end + 4) };
}

Deno.test("serveMount: an HTTP/1.1 viewer of a CHUNKED mount gets the ring's chunks, an HTTP/1.0 one the same payload plain; bytesOut counts payload", async () => {
  const mount = new Mount("stream", { wire: CHUNKED });
  await ingest(ReadableStream.from([await readFixture("audio_only.webm")]), mount, {
    realtime: false,
  });
  mount.end();
  const server = serveMount(mount, { port: 0, hostname: "127.0.0.1" });
  try {
    const chunked = await rawGet(server.addr.port, "1.1");
    assertMatch(chunked.head, /^HTTP\/1\.1 200 .*\r\ntransfer-encoding: chunked\r\n/is);
    const payloads = dechunk(chunked.body);
    const gop = mount.ring.newest!;
    assertEquals(payloads, [mount.header!.bytes, ...gop.clusters]);
    const plain = await rawGet(server.addr.port, "1.0");
    assertEquals(plain.body, new Uint8Array(payloads.flatMap((p) => [...p])));
    await server.idle();
    assertEquals(mount.status().bytesOut, 2 * plain.body.length, "framing not counted");
  } finally {
    await server.shutdown();
  }
});
