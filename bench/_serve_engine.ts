/**
 * Bench-only entry for `fanout.ts`: serves a file like `main.ts` does (real time after a 2 s
 * preroll, optionally looped), with the HTTP engine chosen on the command line, which `main.ts`
 * does not expose:
 *
 *   deno run -A bench/_serve_engine.ts --engine deno|listen [--low-latency] [--loop]
 *     [--port 0] [--host 127.0.0.1] [--mem-log SECONDS] FILE
 *
 * `--mem-log S` prints `MEM rss=… heapTotal=… heapUsed=… external=…` (MiB, `Deno.memoryUsage()`
 * after nothing else) every S seconds, to split RSS into V8 heap, array buffers and the rest.
 *
 * Logs `Serving FILE at http://HOST:PORT/stream (engine E)` on stderr, like mkserver.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { ingest } from "../lib/ingest/ingest.ts";
import { openFileSource } from "../lib/ingest/file_source.ts";
import { CHUNKED } from "../lib/server/chunked.ts";
import { serveMount } from "../lib/server/serve.ts";
import { Mount } from "../lib/stream/mount.ts";

const args = parseArgs(Deno.args, {
  string: ["engine", "port", "host", "mem-log"],
  boolean: ["low-latency", "loop"],
  default: { engine: "listen", port: "0", host: "127.0.0.1" },
});
const engine = args.engine as string;
if (engine !== "deno" && engine !== "listen") {
  console.error(`_serve_engine: --engine must be deno or listen, not ${engine}`);
  Deno.exit(2);
}
const input = String(args._[0] ?? "");
if (input === "") {
  console.error("_serve_engine: a FILE is required");
  Deno.exit(2);
}

// The wire form main.ts gives its mounts: HTTP/1.1 viewers write the ring's shared chunks.
const mount = new Mount("stream", { lowLatency: Boolean(args["low-latency"]), wire: CHUNKED });
const server = serveMount(mount, {
  port: Number(args.port),
  hostname: String(args.host),
  engine,
});
console.error(
  `INFO Serving ${input} at http://${server.addr.hostname}:${server.addr.port}/stream (engine ${engine})`,
);
const memLog = Number(args["mem-log"] ?? 0);
if (memLog > 0) {
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const timer = setInterval(() => {
    const m = Deno.memoryUsage();
    console.error(
      `MEM rss=${mib(m.rss)} heapTotal=${mib(m.heapTotal)} heapUsed=${mib(m.heapUsed)} ` +
        `external=${mib(m.external)} viewers=${mount.clients.size}`,
    );
  }, memLog * 1000);
  Deno.unrefTimer(timer);
}
const stop = new AbortController();
Deno.addSignalListener("SIGTERM", () => stop.abort());
Deno.addSignalListener("SIGINT", () => stop.abort());
const source = await openFileSource(input, { loop: Boolean(args.loop) });
await ingest(source, mount, { realtime: true, preroll: 2000, signal: stop.signal });
mount.end();
await Promise.race([server.idle(), new Promise((r) => setTimeout(r, 2000))]);
await server.shutdown();
Deno.exit(0);
