/**
 * The player page's "go back" control: restarts the stream at `?from=` some time back, which
 * the server serves from the buffer or the recordings and runs on into live. In Media Source
 * playback the live player (`mkserverPlayer.connect`) plays it, with its chase of the live edge
 * off; otherwise the `<video>` does.
 *
 * @module
 */

/** How far back the control offers, as `from` values and labels. */
const CHOICES: ReadonlyArray<readonly [string, string]> = [
  ["", "live"],
  ["-10s", "10 s"],
  ["-30s", "30 s"],
  ["-1m", "1 min"],
  ["-5m", "5 min"],
  ["-15m", "15 min"],
  ["-1h", "1 hour"],
];

/**
 * The control's markup, placed under the `<video id="video">`; its script goes beside it as
 * `<script type="module">` (deferred: it runs once the page is parsed).
 */
export const GO_BACK_HTML = `<p id="go-back"><label>Go back <select id="go-back-from">${
  CHOICES.map(([value, label]) => `<option value="${value}">${label}</option>`).join("")
}</select></label> <span id="go-back-note" role="status"></span></p>`;

/**
 * Its script: a HEAD request first, so a point older than what is kept says how far back the
 * server goes (the `416`'s `x-oldest-available`) instead of breaking the video. It writes only
 * `textContent`.
 */
export const GO_BACK_SCRIPT = String.raw`
{
  const video = document.getElementById("video");
  const select = document.getElementById("go-back-from");
  const note = document.getElementById("go-back-note");
  const live = document.body.dataset.stream;
  const player = () => globalThis.mkserverPlayer;
  select.addEventListener("change", async () => {
    const from = select.value;
    const mode = player()?.mode;
    if (mode === "hls.js" || mode === "native HLS") {
      note.textContent = "Going back needs the Matroska stream (this browser plays HLS)";
      return;
    }
    const join = live.includes("?") ? "&" : "?";
    const url = from === "" ? live : live + join + "from=" + encodeURIComponent(from);
    note.textContent = "";
    try {
      const head = await fetch(url, { method: "HEAD", cache: "no-store" });
      if (head.status === 416) {
        const oldest = head.headers.get("x-oldest-available");
        note.textContent = oldest
          ? "Kept only since " + new Date(oldest).toLocaleString()
          : "Nothing is kept that far back";
        return;
      }
      if (!head.ok) {
        note.textContent = "Cannot go back: HTTP " + head.status;
        return;
      }
    } catch (error) {
      note.textContent = "Cannot go back: " + (error && error.message ? error.message : error);
      return;
    }
    if (mode === "mse") {
      // The live player plays it; it chases the live edge only when live was chosen.
      player().chase = from === "";
      player().connect(url);
    } else {
      video.src = url;
    }
    video.play().catch(() => {});
    note.textContent = from === "" ? "" : "Playing from " + select.selectedOptions[0].textContent + " back";
  });
}
`;
