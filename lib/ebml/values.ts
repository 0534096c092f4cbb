/**
 * Decoding EBML element values (RFC 8794, section 7).
 *
 * @module
 */

/** Decodes an unsigned integer element's payload (0 to 8 bytes, big-endian). */
export function readUint(data: Uint8Array): number {
  if (data.length > 8) {
    throw new RangeError(`Unsigned integer too long: ${data.length} bytes`);
  }
  let value = 0;
  for (let i = 0; i < data.length; i++) value = value * 256 + data[i];
  return value;
}

/** Decodes a signed integer element's payload (0 to 8 bytes, big-endian, two's complement). */
export function readInt(data: Uint8Array): number {
  if (data.length === 0) return 0;
  const unsigned = readUint(data);
  const top = 2 ** (8 * data.length);
  return data[0] & 0x80 ? unsigned - top : unsigned;
}

/** Decodes a float element's payload (0, 4 or 8 bytes). */
export function readFloat(data: Uint8Array): number {
  if (data.length === 0) return 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length === 4) return view.getFloat32(0);
  if (data.length === 8) return view.getFloat64(0);
  throw new RangeError(`Invalid float size: ${data.length} bytes`);
}

const decoder = new TextDecoder();

/** Decodes a string or UTF-8 element's payload, dropping trailing zero padding. */
export function readString(data: Uint8Array): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return decoder.decode(data.subarray(0, end));
}
