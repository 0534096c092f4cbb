import { assertEquals } from "@std/assert";
import { CHUNKED, LAST_CHUNK } from "../lib/server/chunked.ts";
import { joinWire } from "../lib/stream/wire_format.ts";

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
