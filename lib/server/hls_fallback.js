// The player page's HLS fallback (served inline by lib/server/player_page.ts, before
// live_player.js, which calls it): for a browser that can neither take the stream through Media
// Source as WebM nor play the progressive Matroska/WebM in its <video> (Safari, iOS), the mount's
// LL-HLS (/live/NAME/index.m3u8), natively where the <video> plays HLS, else with hls.js, which
// mkserver serves itself (/player/hls.min.js), nothing from another site.
"use strict";
globalThis.mkserverHls = (() => {
  const HLS_JS = "/player/hls.min.js";
  const HLS_TYPE = "application/vnd.apple.mpegurl";

  /** Loads hls.js once, from mkserver. */
  let loading;
  function loadHlsJs() {
    loading ??= new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = HLS_JS;
      script.onload = () => globalThis.Hls ? resolve(globalThis.Hls) : reject(new Error("no Hls"));
      script.onerror = () => reject(new Error("could not load " + HLS_JS));
      document.head.append(script);
    });
    return loading;
  }

  /** Whether the mount offers HLS (its codecs have a CMAF form), from `/status`. */
  async function offered(mount) {
    const body = await fetch("/status", { cache: "no-store" }).then((r) => r.json()).catch(
      () => ({}),
    );
    const status = (body.mounts ?? []).find((m) => m.name === mount);
    return status?.segments?.hls === true;
  }

  /**
   * Plays `url` (an HLS multivariant playlist) in `video`: natively, else with hls.js in
   * low-latency mode, catching up a little (rate 1.2) when behind its target. Resolves to the
   * mode used ("native HLS" or "hls.js") and a `latency()` getter (seconds behind the live edge,
   * hls.js only), or rejects when neither works here.
   */
  async function play(video, url) {
    const hlsJsFits = globalThis.MediaSource?.isTypeSupported('video/mp4; codecs="avc1.42E01E"');
    if (!hlsJsFits && video.canPlayType(HLS_TYPE) !== "") {
      video.src = url;
      video.play().catch(() => {});
      return { mode: "native HLS", latency: () => undefined };
    }
    if (!hlsJsFits) throw new Error("this browser plays neither HLS nor Media Source MP4");
    const Hls = await loadHlsJs();
    const hls = new Hls({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.2 });
    hls.loadSource(url);
    hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    return { mode: "hls.js", latency: () => hls.latency ?? undefined, hls };
  }

  return { offered, play };
})();
