/**
 * Slow request heads (slowloris) from `slowhttptest` (Debian package `slowhttptest`; `.ci/run`
 * installs it): 300 connections at 100 a second, each sending another header line every second
 * and never the head's end, against mkserver with `--header-timeout 2` serving a live stream.
 *
 * Asserted: the server closes every slow connection (slowhttptest ends with "No open
 * connections left" long before its 15 s are up, and never had all 300 open at once), its fd
 * count returns to its baseline, and `/status` on a fresh connection answers in well under a
 * second all through, probed every 100 ms.
 */

import { assert, assertEquals, assertLess } from "@std/assert";
import { fdCount, sleep, until } from "../bench/_proc.ts";
import { CliServer, run } from "./_cli.ts";

const CONNECTIONS = 300;
const SECONDS = 15;
/** `--header-timeout`, in seconds. */
const HEADER_TIMEOUT = 2;
/** The slowest `/status` allowed while the attack runs (ms). */
const STATUS_BOUND_MS = 500;

/** `GET /status` over HTTP/1.0 on a fresh connection: its status and how long it took (ms). */
async function probe(port: number): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /status HTTP/1.0\r\n\r\n"));
    const text = await new Response(conn.readable).text();
    return { status: Number(text.split(" ")[1]), ms: performance.now() - start };
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** slowhttptest's CSV (`-g`): one row a second of Seconds, Closed, Pending, Connected, … */
function parseCsv(text: string): { closed: number; connected: number }[] {
  return text.trim().split("\n").slice(1).map((line) => {
    const [, closed, , connected] = line.split(",").map(Number);
    return { closed, connected };
  });
}

Deno.test("slowhttptest's slow heads are closed after --header-timeout, and /status answers at once throughout", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--header-timeout",
    String(HEADER_TIMEOUT),
    "--loop",
    "testdata/h264_aac.mkv",
  ]);
  const pid = server.child.pid;
  assertEquals((await probe(server.port)).status, 200);
  await sleep(200);
  const baseline = fdCount(pid);
  const dir = await Deno.makeTempDir({ prefix: "mkserver_slow_head_" });
  try {
    let attacking = true;
    const attack = run("slowhttptest", [
      ...["-c", String(CONNECTIONS), "-H", "-i", "1", "-r", "100", "-l", String(SECONDS)],
      ...["-t", "GET", "-u", server.url("/status"), "-p", "3", "-x", "24"],
      ...["-g", "-o", `${dir}/slow`],
    ], { timeout: (SECONDS + 20) * 1000 }).finally(() => attacking = false);
    const probes: number[] = [];
    while (attacking) {
      const { status, ms } = await probe(server.port);
      assertEquals(status, 200);
      probes.push(ms);
      await sleep(100);
    }
    const result = await attack;
    assertEquals(result.code, 0, result.stderr);
    const out = result.stdout.replaceAll(`${String.fromCharCode(27)}[`, "[").replaceAll(
      /\[[0-9;]*m/g,
      "",
    ); // without its colours
    assert(/Exit status: No open connections left/.test(out), out.slice(-600));
    const ended = Number(/Test ended on (\d+)\w\w second/.exec(out)?.[1]);
    // The last connection opens at about 3 s and is closed 2 s later.
    assertLess(ended, SECONDS - 5, out.slice(-600));
    const rows = parseCsv(await Deno.readTextFile(`${dir}/slow.csv`));
    assertLess(Math.max(...rows.map((r) => r.connected)), CONNECTIONS, "never all open at once");
    const slowest = Math.max(...probes);
    console.log(
      `  ${probes.length} /status probes during the attack: slowest ${slowest.toFixed(1)} ms; ` +
        `slowhttptest ended on second ${ended}, at most ${
          Math.max(...rows.map((r) => r.connected))
        } open`,
    );
    assertLess(slowest, STATUS_BOUND_MS);
    assert(probes.length >= 20, `probes: ${probes.length}`);
    assert(await until(() => fdCount(pid) <= baseline + 2, 5000), `fds: ${fdCount(pid)}`);
    assertEquals(server.lines.filter((l) => / (ERROR|WARN) /.test(l)), [], server.log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
