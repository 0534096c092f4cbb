// Origin and edge relays on real network hosts: network namespaces joined by veth pairs, made by
// the test (root and iproute2 needed; it is skipped with the reason otherwise).
//
//   origin 10.77.1.1 ── 10.77.1.2 edge1 10.77.3.1 ── 10.77.3.2 edge3
//   origin 10.77.2.1 ── 10.77.2.2 edge2
//
// Every host runs `mkserver --host 0.0.0.0 --port 8080`; the origin loops testdata/sample.webm,
// each edge pulls from the host upstream of it. Viewers (curl) run inside the origin and every
// edge. The origin's side of origin—edge1 goes down for 3 s.
//
// Why the origin runs with `--stall-timeout 1`: a 3-s cut loses no TCP connection (both ends
// just retransmit and carry on when the link is back), and an edge only counts a silent origin
// as gone after 30 s (url_source's idleTimeout, not settable from the CLI). With the origin
// disconnecting a viewer (edge1) that acknowledges nothing for 1 s, edge1's connection ends when
// the link is back, and edge1 reconnects.
import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import type { Block } from "../lib/matroska/block.ts";
import { sleep, untilDefined } from "../bench/_proc.ts";
import { demux } from "./_util.ts";
import {
  countEbmlHeaders,
  lastClusterEnd,
  netnsSupport,
  type NsProcess,
  sh,
  Topology,
} from "./_netns.ts";

const unsupported = await netnsSupport();
if (unsupported !== undefined) {
  console.warn(`relay_netns_test: skipped: ${unsupported}`);
}

const PORT = 8080;
const SAMPLE = "testdata/sample.webm";
const CAM = "testdata/h264_aac.mkv";

/** A block as compared across hosts: its track and payload bytes. */
function key(b: Block): string {
  let s = `${b.track}:`;
  for (let i = 0; i < b.frames.length; i += 8192) {
    s += String.fromCharCode(...b.frames.subarray(i, i + 8192));
  }
  return s;
}

/**
 * Checks that every block of `blocks` is a block of `reference` (keys, in order; played in a
 * loop when `cyclic`, like the origin's file), in the reference's order: each block follows the
 * previous one there, except at breaks, where a stream may jump (a reconnect starts at a
 * keyframe), which must be video keyframes. Returns the indices of the breaks.
 */
function checkOrder(
  what: string,
  reference: string[],
  blocks: Block[],
  videoTrack: number,
  cyclic = true,
): number[] {
  const where = new Map<string, number[]>();
  reference.forEach((k, i) => where.set(k, [...(where.get(k) ?? []), i]));
  const n = reference.length;
  let at: number[] = [];
  const breaks: number[] = [];
  blocks.forEach((b, i) => {
    const k = key(b);
    const positions = where.get(k);
    assert(positions, `${what}: block ${i} (track ${b.track}) is not one of the origin's`);
    const next = at.map((p) => cyclic ? (p + 1) % n : p + 1).filter((p) => reference[p] === k);
    if (next.length > 0 || i === 0) {
      at = next.length > 0 ? next : positions;
      return;
    }
    assert(
      b.track === videoTrack && b.keyframe,
      `${what}: block ${i} (track ${b.track}) is out of the origin's order and not a keyframe`,
    );
    breaks.push(i);
    at = positions;
  });
  return breaks;
}

/**
 * Timestamps rise on every track (on `reordered`, a video track with B-frames, whose blocks are
 * in decoding order with presentation times: from keyframe to keyframe).
 */
function checkTimes(what: string, blocks: Block[], reordered?: number): void {
  const last = new Map<number, number>();
  blocks.forEach((b, i) => {
    if (b.track === reordered && !b.keyframe) return;
    const before = last.get(b.track);
    assert(
      before === undefined || b.time > before,
      `${what}: track ${b.track} time went from ${before} to ${b.time} at block ${i}`,
    );
    last.set(b.track, b.time);
  });
}

/** Where block `b` ends in `bytes` (its payload is a view of them). */
function endOf(bytes: Uint8Array, b: Block): number {
  assert(b.frames.buffer === bytes.buffer, "the demuxer copied a payload");
  return b.frames.byteOffset - bytes.byteOffset + b.frames.length;
}

/** `ffmpeg -v error` on `bytes`: its error output (empty when it decodes cleanly). */
async function ffmpegErrors(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = `${dir}/${name}.cut.webm`;
  await Deno.writeFile(path, bytes);
  const r = await sh("ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-f", "null", "-"], 30_000);
  return r.stderr.trim() + (r.code === 0 ? "" : ` (exit ${r.code})`);
}

async function fileKeys(path: string): Promise<string[]> {
  return demux(await Deno.readFile(path)).blocks.map(key);
}

/** How the hosts are polled: each check runs `ip netns exec`, and may meet a link that is down. */
const POLL = { every: 250, retryErrors: true };

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

interface StatusMount {
  name: string;
  state: string;
  viewers: number;
  bytesIn: number;
  relay?: { url: string; state: string; lagSeconds: number | null; reconnects?: number };
}

/** The four hosts, linked; returns the topology and the origin's end of origin—edge1. */
async function makeHosts() {
  const topo = await Topology.create(["origin", "edge1", "edge2", "edge3"]);
  try {
    const [originToEdge1] = await topo.link("origin", "10.77.1.1", "edge1", "10.77.1.2");
    await topo.link("origin", "10.77.2.1", "edge2", "10.77.2.2");
    await topo.link("edge1", "10.77.3.1", "edge3", "10.77.3.2");
    return { topo, originToEdge1 };
  } catch (error) {
    await topo[Symbol.asyncDispose]();
    throw error;
  }
}

const listen = ["--host", "0.0.0.0", "--port", String(PORT)];

Deno.test({
  name: "relays on network hosts: leaves get the origin's payloads, and a 3-s link cut is survived",
  ignore: unsupported !== undefined,
  fn: async () => {
    const started = performance.now();
    const dir = await Deno.makeTempDir({ prefix: "mkr-netns-" });
    const { topo, originToEdge1 } = await makeHosts();
    try {
      const origin = topo.server("origin", [...listen, "--stall-timeout", "1", "--loop", SAMPLE]);
      await origin.ready();
      const edge1 = topo.server("edge1", [...listen, `http://10.77.1.1:${PORT}/stream`]);
      const edge2 = topo.server("edge2", [...listen, `http://10.77.2.1:${PORT}/stream`]);
      await Promise.all([edge1.ready(), edge2.ready()]);
      const edge3 = topo.server("edge3", [...listen, `http://10.77.3.1:${PORT}/stream`]);
      await edge3.ready();

      // Viewers on every host, curl inside its namespace (bounded by --max-time; stopped sooner).
      const names = ["origin", "edge1", "edge2", "edge3"];
      const captures = Object.fromEntries(names.map((n) => [n, `${dir}/${n}.webm`]));
      const viewers: Record<string, NsProcess> = {};
      for (const n of names) {
        viewers[n] = topo.spawn(n, `viewer@${n}`, "curl", [
          "-sN",
          "--max-time",
          "40",
          "-o",
          captures[n],
          `http://127.0.0.1:${PORT}/stream`,
        ]);
      }
      await untilDefined(
        async () => (await sizeOf(captures.edge3)) > 20_000 || undefined,
        10_000,
        "edge3's viewer to receive media",
        POLL,
      );
      await sleep(2000);
      const status = (await topo.json("edge1", `http://127.0.0.1:${PORT}/status`)) as {
        mounts: StatusMount[];
      };
      const mount = status.mounts.find((m) => m.name === "stream");
      assert(mount, `edge1 /status: ${JSON.stringify(status)}`);
      assertEquals(mount.viewers, 2, "edge1 serves edge3 and its own viewer");
      assertGreater(mount.bytesIn, 0);

      // Cut origin—edge1 at the origin's side for 3 s.
      const atCut = { edge1: await sizeOf(captures.edge1), edge3: await sizeOf(captures.edge3) };
      const cutAt = performance.now();
      await topo.setLink(originToEdge1, false);
      try {
        await sleep(3000);
      } finally {
        await topo.setLink(originToEdge1, true);
      }
      const upAt = performance.now();
      const drop = await edge1.waitForLine(
        /WARN Source http:\/\/10\.77\.1\.1:8080\/stream dropped: (.*); reconnecting in (.+)$/,
        15_000,
      );
      await edge1.waitForLine(/INFO Source http:\/\/10\.77\.1\.1:8080\/stream is back/, 15_000);
      const backAt = performance.now();
      const atBack = { edge1: await sizeOf(captures.edge1), edge3: await sizeOf(captures.edge3) };
      await sleep(5000); // viewers continue
      for (const n of names) viewers[n].kill("SIGTERM");
      await Promise.all(names.map((n) => viewers[n].exit()));

      // (3) The logs: the origin disconnected edge1, edge1 dropped and came back; nobody else.
      assert(
        origin.lines.some((l) => / WARN .*10\.77\.1\.2.* accepted no bytes for/.test(l)),
        `origin log:\n${origin.log}`,
      );
      for (const edge of [edge2, edge3]) {
        assert(!/dropped/.test(edge.log), `${edge.label} dropped its source:\n${edge.log}`);
      }

      // (1) and (2): the captures.
      const sampleKeys = await fileKeys(SAMPLE);
      const all = await Promise.all(names.map((n) => Deno.readFile(captures[n])));
      const parsed = names.map((n, i) => {
        const bytes = all[i].subarray(0, lastClusterEnd(all[i]));
        return { name: n, bytes, ...demux(bytes) };
      });
      const ref = parsed[0];
      const videoTrack = ref.header.tracks.find((t) => t.kind === "video")!.number;
      const summary: string[] = [];
      for (const p of parsed) {
        assertEquals(countEbmlHeaders(p.bytes), 1, `${p.name}: one EBML header`);
        assertEquals(p.header.tracks, ref.header.tracks, `${p.name}: the origin's tracks`);
        assertEquals(p.header.bytes, ref.header.bytes, `${p.name}: the origin's live header`);
        const breaks = checkOrder(p.name, sampleKeys, p.blocks, videoTrack);
        checkTimes(p.name, p.blocks);
        const errors = await ffmpegErrors(dir, p.name, p.bytes);
        assertEquals(errors, "", `${p.name}: ffmpeg decodes the capture`);
        const scale = p.header.timestampScale / 1e6;
        const video = p.blocks.filter((b) => b.track === videoTrack);
        const span = (bs: Block[]) =>
          bs.length < 2 ? 0 : (bs[bs.length - 1].time - bs[0].time) * scale;
        summary.push(
          `${p.name}: ${p.bytes.length} B, ${p.blocks.length} blocks, ` +
            `${(span(video) / 1000).toFixed(1)} s of video, jumps at ${JSON.stringify(breaks)}`,
        );
        assertGreater(video.length, 200, `${p.name}: enough video`);
        if (p.name === "origin" || p.name === "edge2") {
          assertEquals(breaks, [], `${p.name}: uninterrupted`);
        } else {
          // Across the cut: media before it, and at least 3 s of media after the recovery.
          const before = video.filter((b) => endOf(p.bytes, b) <= atCut[p.name as "edge1"]);
          const after = video.filter((b) => endOf(p.bytes, b) > atBack[p.name as "edge1"]);
          assertGreater(span(before), 1000, `${p.name}: media before the cut`);
          assertGreater(span(after), 3000, `${p.name}: media after the recovery`);
          assertLess(breaks.length, 3, `${p.name}: one jump at most per reconnect`);
        }
      }
      console.log(
        [
          `cut ${((upAt - cutAt) / 1000).toFixed(1)} s; edge1 saw "${drop[1]}", reconnect in ${
            drop[2]
          }, back ${((backAt - upAt) / 1000).toFixed(1)} s after the link came up`,
          ...summary,
          `wall time ${((performance.now() - started) / 1000).toFixed(1)} s`,
        ].join("\n"),
      );
    } finally {
      await topo[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// --relay-all across hosts, and where each edge says it pulls from and how far behind it is.
// edge1 and edge3 (behind edge1) mirror every mount; edge2 is a plain edge of /stream. A source
// is pushed to the origin's /live/cam once the edges run: they pick it up, and drop it when the
// origin ends it.
Deno.test({
  name: "relays on network hosts: --relay-all follows the origin's mounts; /status tells the lag",
  ignore: unsupported !== undefined,
  fn: async () => {
    const started = performance.now();
    const TOKEN = "netns-relay-token";
    const dir = await Deno.makeTempDir({ prefix: "mkr-netns-" });
    const { topo } = await makeHosts();
    try {
      const origin = topo.server("origin", [
        ...listen,
        "--source-token",
        TOKEN,
        "--source-grace",
        "1",
        "--loop",
        SAMPLE,
      ]);
      await origin.ready();
      const edge1 = topo.server("edge1", [
        ...listen,
        "--relay-all",
        `http://10.77.1.1:${PORT}/stream`,
      ]);
      const edge2 = topo.server("edge2", [...listen, `http://10.77.2.1:${PORT}/stream`]);
      await Promise.all([edge1.ready(), edge2.ready()]);
      const edge3 = topo.server("edge3", [
        ...listen,
        "--relay-all",
        `http://10.77.3.1:${PORT}/stream`,
      ]);
      await edge3.ready();

      // A source pushed to the origin (inside its host), twice through the file.
      const push = topo.spawn("origin", "push", "ffmpeg", [
        "-nostdin",
        "-v",
        "error",
        "-re",
        "-stream_loop",
        "1",
        "-i",
        CAM,
        "-c",
        "copy",
        "-f",
        "matroska",
        "-method",
        "PUT",
        "-headers",
        `Authorization: Bearer ${TOKEN}\r\n`,
        `http://127.0.0.1:${PORT}/live/cam`,
      ]);
      const camArgs = (n: string) => [
        "-sN",
        "--max-time",
        "40",
        "-o",
        `${dir}/cam-${n}.mkv`,
        `http://127.0.0.1:${PORT}/live/cam`,
      ];
      await origin.waitForLine(/Source connected to \/live\/cam/, 10_000);
      const originCam = topo.spawn("origin", "cam viewer@origin", "curl", camArgs("origin"));
      const lags: Record<string, number> = {};
      const statusOf = async (host: string) =>
        ((await topo.json(host, `http://127.0.0.1:${PORT}/status`)) as { mounts: StatusMount[] })
          .mounts;
      const upstream: Record<string, string> = {
        edge1: "http://10.77.1.1:8080",
        edge3: "http://10.77.3.1:8080",
      };
      for (const host of ["edge1", "edge3"]) {
        const mounts = await untilDefined(
          async () => {
            const list = await statusOf(host);
            const ok = ["stream", "cam"].every((n) =>
              list.some((m) =>
                m.name === n && m.relay?.state === "live" && typeof m.relay.lagSeconds === "number"
              )
            );
            return ok ? list : undefined;
          },
          15_000,
          `${host} to relay stream and cam with a known lag`,
          POLL,
        );
        for (const m of mounts) {
          const path = m.name === "stream" ? "/stream" : `/live/${m.name}`;
          assertEquals(m.relay!.url, `${upstream[host]}${path}`, `${host} ${m.name}`);
          assertLess(m.relay!.lagSeconds!, 5, `${host} ${m.name} lag`);
          lags[`${host}/${m.name}`] = m.relay!.lagSeconds!;
          assert(m.relay!.lagSeconds! >= 0, `${host} ${m.name} lag`);
        }
      }
      const plain = await untilDefined(
        async () => {
          const m = (await statusOf("edge2")).find((m) => m.name === "stream");
          return typeof m?.relay?.lagSeconds === "number" ? m : undefined;
        },
        10_000,
        "edge2 (a plain edge) to report its lag",
        POLL,
      );
      assertEquals(plain.relay!.url, "http://10.77.2.1:8080/stream");
      assertEquals(plain.relay!.state, "live");
      assertLess(plain.relay!.lagSeconds!, 5);
      lags["edge2/stream"] = plain.relay!.lagSeconds!;

      // Viewers of cam at the origin (from its first keyframe: it joined as cam started) and at
      // edge3, two tiers down, until the source ends.
      const camViewers = [
        originCam,
        topo.spawn("edge3", "cam viewer@edge3", "curl", camArgs("edge3")),
      ];
      assertEquals(await push.exit(30_000), 0, `push: ${push.log}`);
      // The origin ends cam after its grace; every edge follows.
      for (const host of ["edge1", "edge3"]) {
        await untilDefined(
          async () => (await statusOf(host)).some((m) => m.name === "cam") ? undefined : true,
          15_000,
          `${host} to drop cam`,
          POLL,
        );
        assert((await statusOf(host)).some((m) => m.name === "stream"), `${host} keeps stream`);
      }
      for (const v of camViewers) v.kill("SIGTERM");
      await Promise.all(camViewers.map((v) => v.exit()));
      // ffmpeg's remux interleaves differently from the file at the loop: the reference order
      // is what the origin's viewer received; the payloads are the file's.
      const camFile = new Set(await fileKeys(CAM));
      const [ref, leaf] = await Promise.all(
        ["origin", "edge3"].map(async (n) => {
          const all = await Deno.readFile(`${dir}/cam-${n}.mkv`);
          const bytes = all.subarray(0, lastClusterEnd(all));
          return { name: n, bytes, ...demux(bytes) };
        }),
      );
      const video = ref.header.tracks.find((t) => t.kind === "video")!.number;
      assertEquals(leaf.header.tracks, ref.header.tracks);
      assertEquals(leaf.header.bytes, ref.header.bytes);
      assertGreater(leaf.blocks.length, 100, "cam blocks at edge3");
      for (const b of ref.blocks) {
        assert(camFile.has(key(b)), "cam@origin: a payload not in the file");
      }
      assertEquals(checkOrder("cam@edge3", ref.blocks.map(key), leaf.blocks, video, false), []);
      for (const p of [ref, leaf]) {
        checkTimes(`cam@${p.name}`, p.blocks, video);
        assertEquals(await ffmpegErrors(dir, `cam-${p.name}`, p.bytes), "", `cam@${p.name}`);
      }
      console.log(
        `cam: origin ${ref.blocks.length} blocks, edge3 ${leaf.blocks.length} blocks; lag ` +
          JSON.stringify(lags) +
          `; wall time ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      await topo[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
