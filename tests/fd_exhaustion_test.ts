/**
 * Out of file descriptors: mkserver runs under `prlimit --nofile=64:64` (util-linux), the test
 * opens connections until the server cannot accept more, holds them, then closes them.
 *
 * Asserted: the server says so in one WARN line (not one per retry) and does not spin while it
 * lasts (its CPU time over 2 s of it stays under a bound a hot loop would pass many times over),
 * then accepts again on its own once the fds are back, says so in one INFO line, and answers
 * `/status`, with its fd count back at its baseline.
 */

import { assert, assertEquals, assertLess } from "@std/assert";
import { cpuSeconds, fdCount, sleep, until } from "../bench/_proc.ts";
import { CliServer } from "./_cli.ts";

/** The fd limit mkserver runs under: its idle process holds about 25. */
const NOFILE = 64;
/** Connections the test may open to exhaust it: far more than the limit leaves. */
const MOST_CONNECTIONS = 120;
/** CPU seconds mkserver may use in 2 s out of fds (a retry loop without a pause takes ~2). */
const CPU_BOUND = 0.4;

const WARN = /WARN Cannot accept connections: Too many open files/;
const RECOVERED = /INFO Accepting connections again, after \d+ failed attempts/;

/** `GET /status` over HTTP/1.0 on a fresh connection: its status line. */
async function statusLine(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /status HTTP/1.0\r\n\r\n"));
    const text = await new Response(conn.readable).text();
    return text.slice(0, text.indexOf("\r\n"));
  } catch (error) {
    conn.close();
    throw error;
  }
}

Deno.test("mkserver out of file descriptors logs it once, does not spin, and serves again once they come back", async () => {
  await using server = await CliServer.start(
    ["--port", "0", "--source-token", "t", "--header-timeout", "60"],
    { under: ["prlimit", `--nofile=${NOFILE}:${NOFILE}`] },
  );
  const pid = server.child.pid;
  assertEquals(await statusLine(server.port), "HTTP/1.1 200 OK");
  await sleep(200); // that connection closed
  const baseline = fdCount(pid);
  assertLess(baseline, NOFILE - 10, "room for connections under the limit");

  const held: Deno.Conn[] = [];
  try {
    // Idle connections (no request: the 60 s head timeout keeps them) until accepting fails.
    while (held.length < MOST_CONNECTIONS && !server.lines.some((l) => WARN.test(l))) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
      if (held.length > NOFILE - baseline) await sleep(20);
    }
    await server.waitForLine(WARN, 5000);
    const cpu = cpuSeconds(pid);
    await sleep(2000);
    const spent = cpuSeconds(pid) - cpu;
    console.log(
      `  accepting failed after ${held.length} connections (fds: ${baseline} before); ` +
        `${spent.toFixed(2)} CPU-s in 2 s out of fds`,
    );
    assertLess(spent, CPU_BOUND, `CPU seconds in 2 s out of fds; log:\n${server.log}`);
    assertEquals(server.lines.filter((l) => WARN.test(l)).length, 1, server.log);
  } finally {
    for (const conn of held) conn.close();
  }
  // The next connection is accepted: it is answered, and the server says it accepts again.
  assertEquals(await statusLine(server.port), "HTTP/1.1 200 OK");
  console.log(`  ${(await server.waitForLine(RECOVERED, 5000))[0].trim()}`);
  assertEquals(await statusLine(server.port), "HTTP/1.1 200 OK");
  assertEquals(server.lines.filter((l) => WARN.test(l)).length, 1, server.log);
  assert(
    await until(() => fdCount(pid) <= baseline, 5000),
    `fds back at ${baseline}: ${fdCount(pid)}`,
  );
  assertEquals(server.lines.filter((l) => / (ERROR|WARN) /.test(l)).length, 1, server.log);
});
