/**
 * mediabunny, the test oracle for lib/mp4's output (an independent ISO BMFF demuxer), pinned here
 * in one place and re-exported, like tests/_playwright.ts, so the tests import it without an
 * inline `npm:` specifier. Test-only: lib/ never imports it (MPL-2.0; nothing is copied from it).
 *
 * @module
 */

export { BufferSource, EncodedPacketSink, Input, MP4 } from "npm:mediabunny@1.61.0";
