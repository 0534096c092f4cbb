/**
 * How long an audio frame lasts, from the codec: Matroska's millisecond timestamps round frame
 * times (an AAC frame at 44.1 kHz lasts 23.22 ms), so sample-exact durations come from the codec.
 *
 * @module
 */

/** Opus frame sizes in 48 kHz samples by TOC configuration (RFC 6716 §3.1, Table 2). */
function opusFrameSize(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]; // CELT: 2.5, 5, 10, 20 ms
}

/**
 * Samples in one Opus packet at 48 kHz, from its TOC byte and frame count (RFC 6716 §3.1–3.2),
 * or `undefined` for a packet too short to say.
 */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  if (packet.length === 0) return undefined;
  const toc = packet[0];
  const size = opusFrameSize(toc >> 3);
  const code = toc & 0x03;
  if (code === 0) return size;
  if (code === 1 || code === 2) return 2 * size;
  if (packet.length < 2) return undefined;
  return (packet[1] & 0x3f) * size;
}

/**
 * A frame's duration in `rate` Hz samples, when the codec fixes it: Opus from its TOC (always
 * counted at 48 kHz), AAC 1024 samples (AAC-LC; HE-AAC's SBR doubles the output rate, which its
 * AudioSpecificConfig's core rate already accounts for). `undefined` otherwise.
 */
export function audioFrameSamples(
  codecId: string,
  frame: Uint8Array,
  rate: number,
): number | undefined {
  if (codecId === "A_OPUS") {
    const samples = opusPacketSamples(frame);
    return samples === undefined ? undefined : Math.round(samples * rate / 48000);
  }
  if (codecId === "A_AAC" || codecId.startsWith("A_AAC/")) return 1024;
  return undefined;
}
