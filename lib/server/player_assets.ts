/**
 * Scripts the player page loads from mkserver itself (no CDN): hls.js, for browsers that play
 * neither the progressive stream nor native HLS.
 *
 * @module
 */

// deno-lint-ignore no-import-prefix
import hlsScript from "npm:hls.js@1.7.4/dist/hls.min.js" with { type: "text" };

/** The path the page loads hls.js from. */
export const HLS_SCRIPT_PATH = "/player/hls.min.js";

/** hls.js's version, as served (for the README and `/status`). */
export const HLS_VERSION = "1.7.4";

/** The response for `HLS_SCRIPT_PATH`: immutable for a version, cached by browsers and CDNs. */
export function hlsScriptResponse(): Response {
  return new Response(hlsScript, {
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=86400",
      "access-control-allow-origin": "*",
    },
  });
}
