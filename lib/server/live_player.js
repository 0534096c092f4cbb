// The player page's live player (served inline by lib/server/player_page.ts; it runs in the
// browser, after the page's stats script, whose global mseType() it uses).
//
// WebM codecs play through Media Source Extensions: the progressive stream is fetch()ed and
// appended to a SourceBuffer in "segments" mode, so the media time is the stream's own and can be
// compared with the live edge the server reports (GET /live/NAME/edge: the newest block's media
// time). The buffer is kept small: what lies behind the playhead is removed, a playhead that
// drifts behind is sped up a little (playbackRate), one far behind jumps. Anything else (no MSE,
// codecs it does not take, an MSE failure) plays in the <video> by itself, as before.
//
// globalThis.mkserverPlayer is the player's handle: state() for tests, `chase` and connect(url) for
// controls that play behind the live edge on purpose.
"use strict";
(() => {
  const video = document.getElementById("video");
  const data = document.body.dataset;
  const base = "/live/" + encodeURIComponent(data.mount);
  const TUNING = {
    target: 0.2, // seconds kept ahead of the playhead at the low point of each delivery
    chaseAbove: 0.15, // more than that over the target: play at `rate`
    rate: 1.08,
    jumpAbove: 1.0, // more than that over the target for a whole window: jump
    resyncAbove: 2.0, // this far over at any moment (after a pause or a stall): jump at once
    window: 3000, // ms over which the low point (and the size of a delivery) is taken
    keepBehind: 4, // seconds kept behind the playhead; older media is removed
    maxAhead: 30, // seconds buffered while paused before the stream is let go (rejoined on play)
    stuckAfter: 500, // ms a playhead with media ahead may stand still before it is moved on
    edgeRunOn: 1500, // ms the edge of the last poll (one a second) is run on by the clock
  };
  const player = {
    mode: "starting",
    chase: true,
    type: undefined, // the SourceBuffer's MIME type
    url: undefined, // what connect() plays
    viewer: undefined,
    jumps: 0,
    nudges: 0, // times a stuck playhead was moved on (unstick)
    edge: undefined, // { liveTime, at }: the server's newest media time at performance.now() `at`
    behind: undefined,
    ahead: 0,
    note: "",
    connect,
    state,
  };
  globalThis.mkserverPlayer = player;
  let session; // the MSE connection in use: { abort, mediaSource, sourceBuffer }
  let lows = []; // { at, ahead }
  let deliveries = []; // { at, seconds }: how much media each append added
  let since = 0; // when `lows` started (after a jump or a resume)
  let parked = false;
  let stuck = { time: -1, since: 0 }; // where the playhead was last seen moving, and when

  const show = (id, text) => {
    const el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  };

  /** The end of the buffered range the playhead `t` is in, or `t` when it is in none. */
  function rangeEnd(t) {
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (t >= b.start(i) && t < b.end(i)) return b.end(i);
    return t;
  }

  /** The start of the first buffered range after `t` (media beyond a gap), if any. */
  function nextStart(t) {
    const b = video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) > t) return b.start(i);
    return undefined;
  }

  /**
   * Moves on a playhead that cannot: one in a gap between buffered ranges (before the first
   * media, or at a looped file's seam, where audio and video end apart), and one that has not
   * moved for `stuckAfter` ms with media ahead (Chromium's sometimes waits for ever after a long
   * pause). Says whether it moved it.
   */
  function unstick(now, t, ahead) {
    const next = nextStart(t);
    let to;
    if (ahead === 0 && next !== undefined) to = next + 0.001;
    else if (video.paused || video.seeking || t !== stuck.time) stuck = { time: t, since: now };
    else if (now - stuck.since >= TUNING.stuckAfter && ahead >= 0.3) to = t + 0.001;
    if (to === undefined) return false;
    video.currentTime = to;
    player.nudges++;
    stuck = { time: to, since: now };
    return true;
  }

  /** The player's figures; `buffered`: seconds from the oldest buffered media to the newest. */
  function state() {
    const { mode, chase, behind, ahead, jumps, nudges, viewer, note } = player;
    const b = video.buffered;
    const buffered = b.length > 0 ? b.end(b.length - 1) - b.start(0) : 0;
    return {
      mode,
      chase,
      behind,
      ahead,
      buffered,
      rate: video.playbackRate,
      jumps,
      nudges,
      viewer,
      note,
    };
  }

  function progressive(why) {
    if (session) session.abort.abort();
    session = undefined;
    player.mode = "progressive";
    player.note = why;
    video.src = data.stream;
    video.play().catch(() => {});
  }

  function idle(sb) {
    if (!sb.updating) return Promise.resolve();
    return new Promise((resolve) => sb.addEventListener("updateend", resolve, { once: true }));
  }

  async function append(s, chunk) {
    const sb = s.sourceBuffer;
    await idle(sb);
    const b = sb.buffered;
    // Bounded buffer: what is well behind the playhead goes (removes wait for idle, like appends).
    if (b.length > 0 && b.start(0) < video.currentTime - TUNING.keepBehind - 2) {
      sb.remove(0, video.currentTime - TUNING.keepBehind);
      await idle(sb);
    }
    const before = sb.buffered.length > 0 ? sb.buffered.end(sb.buffered.length - 1) : undefined;
    sb.appendBuffer(chunk);
    await idle(sb);
    const n = sb.buffered.length;
    if (n === 0) return;
    const end = sb.buffered.end(n - 1);
    if (before === undefined) {
      // The first media: start near its end (a viewer joins at the GOP's keyframe, behind live).
      if (player.chase) video.currentTime = Math.max(sb.buffered.start(0), end - TUNING.target);
      video.play().catch(() => {});
    } else if (end > before) {
      deliveries.push({ at: performance.now(), seconds: end - before });
    }
  }

  async function pump(s, url) {
    const response = await fetch(url, { cache: "no-store", signal: s.abort.signal });
    if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
    player.viewer = response.headers.get("x-viewer-id") ?? undefined;
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await append(s, value);
      if (video.paused && player.ahead > TUNING.maxAhead) {
        parked = true; // joined afresh on play (at the newest keyframe, for the live stream)
        s.abort.abort();
        return;
      }
    }
    if (s.mediaSource.readyState === "open") s.mediaSource.endOfStream();
  }

  /** Plays `url` (the page's stream by default) through MSE from a fresh MediaSource. */
  function connect(url = data.stream) {
    if (session) session.abort.abort();
    player.url = url;
    const mediaSource = new MediaSource();
    const s = { abort: new AbortController(), mediaSource, sourceBuffer: undefined };
    session = s;
    player.mode = "mse";
    player.viewer = undefined;
    lows = [];
    deliveries = [];
    video.src = URL.createObjectURL(mediaSource);
    mediaSource.addEventListener("sourceopen", () => {
      URL.revokeObjectURL(video.src);
      try {
        s.sourceBuffer = mediaSource.addSourceBuffer(player.type);
        s.sourceBuffer.mode = "segments";
      } catch (error) {
        return progressive("MSE refused the stream (" + error.message + ")");
      }
      pump(s, url).catch((error) => {
        if (s.abort.signal.aborted) return;
        player.note = "Stream interrupted (" + error.message + "); reconnecting";
        setTimeout(() => session === s && connect(url), 2000);
      });
    }, { once: true });
  }

  /**
   * The live edge now: the newest block's media time at the last poll, run on by the clock
   * since (at most `edgeRunOn` ms, so a source that stalls does not make the page look late).
   */
  function liveEdge(now) {
    const e = player.edge;
    return e && e.liveTime + Math.min(now - e.at, TUNING.edgeRunOn) / 1000;
  }

  /** Steers the playhead towards the live edge, every 250 ms. */
  function steer() {
    if (player.mode !== "mse") return;
    const now = performance.now();
    const t = video.currentTime;
    player.ahead = rangeEnd(t) - t;
    if (unstick(now, t, player.ahead)) return;
    const edge = liveEdge(now);
    if (edge !== undefined) player.behind = Math.max(0, edge - t);
    lows = lows.filter((l) => now - l.at <= TUNING.window);
    deliveries = deliveries.filter((d) => now - d.at <= TUNING.window);
    if (!player.chase || video.paused || video.seeking) {
      video.playbackRate = 1;
      lows = [];
      since = now;
      return;
    }
    lows.push({ at: now, ahead: player.ahead });
    const low = Math.min(...lows.map((l) => l.ahead));
    const delivery = Math.max(0.04, ...deliveries.map((d) => d.seconds));
    const over = player.ahead - delivery - TUNING.target;
    let jump = 0;
    if (over > TUNING.resyncAbove) jump = over;
    else if (now - since >= TUNING.window && low - TUNING.target > TUNING.jumpAbove) {
      jump = low - TUNING.target;
    }
    if (jump > 0) {
      video.currentTime = t + jump;
      player.jumps++;
      lows = [];
      since = now;
      video.playbackRate = 1;
      return;
    }
    const excess = low - TUNING.target;
    if (now - since >= 1000 && excess > TUNING.chaseAbove) video.playbackRate = TUNING.rate;
    else if (excess < TUNING.chaseAbove / 3) video.playbackRate = 1;
  }

  function render() {
    const behind = player.behind;
    const measured = player.mode === "mse" || player.mode === "hls.js";
    show(
      "stat-latency",
      !measured
        ? "— (not measured in " + player.mode + " playback)"
        : behind === undefined
        ? "—"
        : behind.toFixed(2) + " s" + (video.playbackRate > 1 ? " (catching up)" : ""),
    );
    show(
      "stat-playback",
      player.mode === "mse"
        ? "Media Source, " + player.ahead.toFixed(2) + " s buffered ahead"
        : player.mode === "progressive"
        ? "<video> (progressive)" + (player.note ? ": " + player.note : "")
        : player.mode === "hls.js" || player.mode === "native HLS"
        ? "HLS (" + player.mode + "): " + player.note
        : "starting",
    );
  }

  async function pollEdge() {
    const sent = performance.now();
    try {
      const response = await fetch(base + "/edge", { cache: "no-store" });
      if (!response.ok) return;
      const { liveTime } = await response.json();
      if (typeof liveTime === "number") {
        player.edge = { liveTime, at: (sent + performance.now()) / 2 };
      }
    } catch {
      // The next poll tries again.
    }
  }

  function report() {
    if (player.mode !== "mse" || video.paused || !player.viewer) return;
    if (player.behind === undefined) return;
    const body = new URLSearchParams({ viewer: player.viewer, seconds: player.behind.toFixed(3) });
    fetch(base + "/latency", { method: "POST", body, keepalive: true }).catch(() => {});
  }

  /**
   * Where Media Source cannot take the stream: the <video> plays it when it can, else the
   * mount's HLS does (hls_fallback.js: natively or with hls.js), else the <video> tries anyway.
   */
  async function fallback(why) {
    const type = data.contentType;
    if (type && video.canPlayType(type) !== "") return progressive(why);
    if (!(await globalThis.mkserverHls.offered(data.mount))) return progressive(why);
    try {
      const hls = await globalThis.mkserverHls.play(video, base + "/index.m3u8");
      player.mode = hls.mode;
      player.note = why;
      setInterval(() => {
        player.behind = hls.latency();
        render();
      }, 250);
    } catch (error) {
      progressive(why + "; " + error.message);
    }
  }

  function start(type) {
    player.type = type;
    if (!type) return fallback("the codecs have no Media Source form");
    if (!globalThis.MediaSource || !MediaSource.isTypeSupported(type)) {
      return fallback("this browser's Media Source does not take " + type);
    }
    connect();
    setInterval(() => {
      steer();
      render();
    }, 250);
    setInterval(pollEdge, 1000);
    setInterval(report, 2000);
    pollEdge();
  }

  video.addEventListener("error", () => {
    if (player.mode === "mse") progressive("Media Source failed: " + (video.error?.message ?? ""));
  });
  video.addEventListener("play", () => {
    if (parked && player.mode === "mse") {
      parked = false;
      connect(player.url);
    }
  });

  /** The page came before the source: its codecs (from `/status`) decide how to play it. */
  async function waitForTracks() {
    for (;;) {
      const body = await fetch("/status", { cache: "no-store" }).then((r) => r.json()).catch(
        () => ({}),
      );
      const mount = (body.mounts ?? []).find((m) => m.name === data.mount);
      if (mount?.tracks?.length > 0) return start(mseType(mount.tracks, mount.docType) ?? "");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  if (data.mseType !== undefined) start(data.mseType);
  else waitForTracks();
  render();
})();
