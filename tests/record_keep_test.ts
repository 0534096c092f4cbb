// --record-keep from a config file: the recording settings are config keys like every option,
// and retention deletes the oldest files while the server runs.
import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { listRecordings } from "../lib/record/recording_list.ts";
import { CliServer, fixturePath } from "./_cli.ts";

Deno.test("--record-keep (set in a config file) deletes the oldest recordings while the server runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/mkserver.jsonc`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        record: `${dir}/rec`,
        "record-segment": "4s",
        "record-keep": "9s",
        loop: true,
        input: fixturePath("h264_aac.mkv"),
      }),
    );
    await using server = await CliServer.start(["--port", "0", "--config", config]);
    // Files of 4 s (a 2-s GOP: 4 to 6 s) for 26 s; those that ended over 9 s ago go.
    await server.waitForLine(/INFO Deleted recording \S+ \(--record-keep: too old\)/, 30_000);
    const deleted = new Set<string>();
    const end = Date.now() + 12_000;
    while (Date.now() < end) {
      for (const line of server.lines) {
        const m = / INFO Deleted recording (\S+) /.exec(line);
        if (m) deleted.add(m[1].slice(m[1].lastIndexOf("/") + 1));
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const now = Date.now();
    const kept = await listRecordings(`${dir}/rec`, "stream");
    server.kill("SIGTERM");
    assertEquals(await server.exit(), 0);
    assertGreaterOrEqual(deleted.size, 2, server.log);
    for (const f of kept) {
      assert(!deleted.has(f.file), f.file);
      // Retention runs after each finished file: nothing kept ended long before the last one.
      const ended = f.start.getTime() + (f.durationMs ?? 0);
      assert(now - ended <= 9000 + 7000, `${f.file} ended ${now - ended} ms ago`);
    }
    // The oldest went first: every deleted name sorts before every kept one.
    const oldestKept = kept[0].file;
    for (const d of deleted) assert(d < oldestKept, `${d} deleted, ${oldestKept} kept`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
