import { assertEquals } from "@std/assert";
import { Mount } from "../lib/stream/mount.ts";
import { RateMeter, trackStatus } from "../lib/stream/mount_status.ts";
import { demux, readFixture } from "./_util.ts";

Deno.test("RateMeter gives bits per second over the last interval, and keeps a rate for 0.2 s", () => {
  const meter = new RateMeter(0);
  meter.sample(125_000, 250_000, 1000);
  assertEquals([meter.bitrateIn, meter.bitrateOut], [1_000_000, 2_000_000]);
  meter.sample(130_000, 260_000, 1100); // too soon: the rate stands
  assertEquals(meter.bitrateIn, 1_000_000);
  meter.sample(125_000 + 62_500, 250_000, 2000);
  assertEquals([meter.bitrateIn, meter.bitrateOut], [500_000, 0]);
});

Deno.test("trackStatus leaves CodecPrivate out, so /status stays plain JSON", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const tracks = trackStatus(header);
  assertEquals(tracks.map((t) => "codecPrivate" in t), [false, false]);
  assertEquals(tracks[0], {
    number: 1,
    kind: "video",
    type: 1,
    codecId: "V_MPEG4/ISO/AVC",
    width: header.tracks[0].width,
    height: header.tracks[0].height,
  });
});

Deno.test("Mount.status shows what its publisher's source describes under relay, asked each time", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const mount = new Mount("edge");
  assertEquals(mount.status().relay, undefined);
  mount.setHeader(header);
  let state = "connecting";
  mount.source = { describe: () => ({ url: "http://origin/stream", state }) };
  assertEquals(mount.status().relay, { url: "http://origin/stream", state: "connecting" });
  state = "live";
  const json = JSON.parse(JSON.stringify(mount.status()));
  assertEquals(json.relay.state, "live");
  assertEquals(Object.keys(json.tracks[0]).includes("codecPrivate"), false);
});
