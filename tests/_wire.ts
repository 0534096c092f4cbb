/**
 * Speaking HTTP/1.1 over raw TCP, for the tier-2 tests: bytes written as given (in separate
 * writes, apart in time when asked), everything read to the connection's end, and what came split
 * into responses.
 *
 * @module
 */

import { assert } from "@std/assert";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One response read off the wire. */
export interface WireResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Writes `parts` on a fresh connection (`gap` ms apart: separate reads), reads to its end. */
export async function talkRaw(port: number, parts: string[], gap = 0): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    for (const part of parts) {
      await conn.write(encoder.encode(part));
      if (gap) await new Promise((r) => setTimeout(r, gap));
    }
  } catch (error) {
    conn.close();
    throw error;
  }
  return decoder.decode(await new Response(conn.readable).arrayBuffer());
}

/**
 * `talkRaw`, with what came split into responses (`heads[i]`: the i-th answered a HEAD, so it
 * has no body whatever its length).
 */
export async function talk(
  port: number,
  parts: string[],
  options: { gap?: number; heads?: boolean[] } = {},
): Promise<WireResponse[]> {
  return splitResponses(await talkRaw(port, parts, options.gap), options.heads ?? []);
}

export function splitResponses(text: string, heads: boolean[]): WireResponse[] {
  const out: WireResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    assert(end > 0, `a response head: ${JSON.stringify(text.slice(at))}`);
    const [statusLine, ...lines] = text.slice(at, end).split("\r\n");
    const headers = new Map(lines.map((l) => {
      const colon = l.indexOf(": ");
      return [l.slice(0, colon), l.slice(colon + 2)] as [string, string];
    }));
    const length = heads[out.length] ? 0 : Number(headers.get("content-length") ?? 0);
    out.push({
      status: Number(statusLine.split(" ")[1]),
      headers,
      body: text.slice(end + 4, end + 4 + length),
    });
    at = end + 4 + length;
  }
  return out;
}
