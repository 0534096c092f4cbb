import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  type DashRepresentation,
  renderDashManifest,
  renderTimeline,
} from "../lib/package/dash_manifest.ts";

function video(extra: Partial<DashRepresentation> = {}): DashRepresentation {
  return {
    id: "v1",
    contentType: "video",
    mimeType: "video/webm",
    codecs: "vp8",
    bandwidth: 2_000_000,
    width: 640,
    height: 360,
    frameRate: 25,
    timescale: 1000,
    presentationTimeOffset: 4000,
    startNumber: 1796112000,
    initialization: "e/x/v1/init-0.webm",
    media: "e/x/v1/$Number$.webm",
    timeline: [{ t: 4000, d: 2000 }, { t: 6000, d: 2000 }, { t: 8000, d: 2000 }],
    ...extra,
  };
}

const audio: DashRepresentation = {
  id: "a2",
  contentType: "audio",
  mimeType: "audio/webm",
  codecs: "opus",
  bandwidth: 96_000,
  audioSamplingRate: 48000,
  channels: 2,
  timescale: 1000,
  presentationTimeOffset: 4000,
  startNumber: 1796112000,
  initialization: "e/x/a2/init-0.webm",
  media: "e/x/a2/$Number$.webm",
  timeline: [{ t: 4000, d: 2000 }, { t: 6000, d: 2000 }, { t: 8000, d: 2000 }],
};

Deno.test("renderTimeline run-length encodes equal, contiguous durations", () => {
  assertEquals(renderTimeline([{ t: 0, d: 2 }, { t: 2, d: 2 }, { t: 4, d: 2 }]), [
    '<S t="0" d="2" r="2"/>',
  ]);
  assertEquals(renderTimeline([{ t: 0, d: 2 }, { t: 2, d: 3 }, { t: 5, d: 3 }, { t: 10, d: 1 }]), [
    '<S t="0" d="2"/>',
    '<S d="3" r="1"/>',
    '<S t="10" d="1"/>',
  ]);
  assertEquals(renderTimeline([]), []);
});

Deno.test("renderDashManifest writes a dynamic MPD, one AdaptationSet per track", () => {
  const xml = renderDashManifest({
    publishTime: Date.UTC(2026, 11, 1, 8, 0, 14, 510),
    minimumUpdatePeriod: 2,
    timeShiftBufferDepth: 20,
    maxSegmentDuration: 2,
    minBufferTime: 2,
    suggestedPresentationDelay: 4,
    profiles: "urn:mpeg:dash:profile:isoff-live:2011",
    utcTiming: "/time",
    periods: [{
      id: "x-0",
      start: 1796112000,
      startWithSap: true,
      representations: [video(), audio],
    }],
  });
  assert(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<MPD '));
  assertMatch(xml, /type="dynamic"/);
  assertMatch(xml, /availabilityStartTime="1970-01-01T00:00:00Z"/);
  assertMatch(xml, /publishTime="2026-12-01T08:00:14.510Z"/);
  assertMatch(xml, /minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT20S"/);
  assertMatch(xml, /<Period id="x-0" start="PT1796112000S">/);
  assertEquals(xml.match(/<AdaptationSet /g)?.length, 2);
  assertMatch(
    xml,
    /<AdaptationSet id="1" contentType="video" mimeType="video\/webm" segmentAlignment="true" startWithSAP="1">/,
  );
  assertMatch(
    xml,
    /<Representation id="v1" codecs="vp8" bandwidth="2000000" width="640" height="360" frameRate="25">/,
  );
  assertMatch(
    xml,
    /<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"\/>/,
  );
  assertMatch(
    xml,
    /<SegmentTemplate timescale="1000" presentationTimeOffset="4000" startNumber="1796112000" initialization="e\/x\/v1\/init-0.webm" media="e\/x\/v1\/\$Number\$.webm">/,
  );
  assertMatch(xml, /<S t="4000" d="2000" r="2"\/>/);
  assertMatch(
    xml,
    /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/time"\/>\n<\/MPD>\n$/,
  );
  // Well-formed: the browser's parser would refuse mismatched tags; count opening and closing.
  for (
    const tag of [
      "MPD",
      "Period",
      "AdaptationSet",
      "Representation",
      "SegmentTemplate",
      "SegmentTimeline",
    ]
  ) {
    assertEquals(
      xml.split(`<${tag} `).length + xml.split(`<${tag}>`).length - 2,
      xml.split(`</${tag}>`).length - 1,
      tag,
    );
  }
});

Deno.test("renderDashManifest connects a continuing Period and drops SAP after a split GOP", () => {
  const xml = renderDashManifest({
    publishTime: 0,
    minimumUpdatePeriod: 2,
    timeShiftBufferDepth: 20,
    maxSegmentDuration: 2,
    minBufferTime: 2,
    suggestedPresentationDelay: 4,
    profiles: "p",
    utcTiming: "/time",
    periods: [
      { id: "x-0", start: 1796112000, startWithSap: true, representations: [video()] },
      {
        id: "x-1",
        start: 1796112031.4,
        connectedTo: "x-0",
        startWithSap: false,
        representations: [video({ presentationTimeOffset: 33040, startNumber: 1796112015 })],
      },
    ],
  });
  assertMatch(
    xml,
    /<Period id="x-1" start="PT1796112031.4S">\n<AdaptationSet id="1" contentType="video" mimeType="video\/webm" segmentAlignment="true">\n<SupplementalProperty schemeIdUri="urn:mpeg:dash:period-connectivity:2015" value="x-0"\/>/,
  );
  assertEquals(xml.match(/startWithSAP/g)?.length, 1);
});
