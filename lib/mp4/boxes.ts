/**
 * ISO BMFF box primitives (ISO/IEC 14496-12, section 4.2): boxes, full boxes, and a field writer
 * for their bodies.
 *
 * Init segments and fragment headers are small, so they are built whole; media payloads never
 * pass through here (`writeBoxHeader` gives an `mdat` header to put beside them).
 *
 * @module
 */

/** Largest size a 32-bit box size field holds; larger boxes use `largesize` (§4.2). */
const MAX_COMPACT_SIZE = 0xffff_ffff;

/** The four bytes of a box type, checked: four characters of ISO 8859-1. */
export function writeFourCc(type: string): Uint8Array {
  if (type.length !== 4) throw new TypeError(`Box type must be 4 characters: "${type}"`);
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const c = type.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`Box type must be ISO 8859-1: "${type}"`);
    bytes[i] = c;
  }
  return bytes;
}

/**
 * A box header for a payload of `payloadSize` bytes: 8 bytes, or 16 with `largesize` when the
 * box would not fit a 32-bit size (§4.2).
 */
export function writeBoxHeader(type: string, payloadSize: number): Uint8Array {
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 0) {
    throw new RangeError(`Box payload size out of range: ${payloadSize}`);
  }
  const compact = payloadSize + 8 <= MAX_COMPACT_SIZE;
  const header = new Uint8Array(compact ? 8 : 16);
  const view = new DataView(header.buffer);
  header.set(writeFourCc(type), 4);
  if (compact) {
    view.setUint32(0, payloadSize + 8);
  } else {
    view.setUint32(0, 1);
    view.setBigUint64(8, BigInt(payloadSize + 16));
  }
  return header;
}

/** A whole box: header and its children or fields, concatenated (for small boxes only). */
export function writeBox(type: string, ...payload: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of payload) size += part.length;
  const header = writeBoxHeader(type, size);
  const box = new Uint8Array(header.length + size);
  box.set(header);
  let pos = header.length;
  for (const part of payload) {
    box.set(part, pos);
    pos += part.length;
  }
  return box;
}

/** A whole full box: version (8 bits) and flags (24 bits) before the payload (§4.2). */
export function writeFullBox(
  type: string,
  version: number,
  flags: number,
  ...payload: Uint8Array[]
): Uint8Array {
  if (version < 0 || version > 0xff || flags < 0 || flags > 0xff_ffff) {
    throw new RangeError(`Full box version or flags out of range: ${version}, ${flags}`);
  }
  const head = new Uint8Array([version, flags >> 16, (flags >> 8) & 0xff, flags & 0xff]);
  return writeBox(type, head, ...payload);
}

/**
 * Writes big-endian fields into a growing buffer, for box bodies (ISO BMFF is big-endian).
 * Each setter checks its range, since a silently wrapped field gives a file that decodes wrong.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Fields } from "./boxes.ts";
 * assertEquals(new Fields().u8(1).u16(0x0203).u32(4).bytes(), new Uint8Array([1, 2, 3, 0, 0, 0, 4]));
 * ```
 */
export class Fields {
  #buffer = new Uint8Array(64);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** Makes room for `n` bytes and returns where they go (read fields only after calling it). */
  #reserve(n: number): number {
    const at = this.#length;
    if (at + n > this.#buffer.length) {
      const bigger = new Uint8Array(Math.max(this.#buffer.length * 2, at + n));
      bigger.set(this.#buffer.subarray(0, at));
      this.#buffer = bigger;
      this.#view = new DataView(bigger.buffer);
    }
    this.#length += n;
    return at;
  }

  #check(value: number, min: number, max: number, what: string): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${what} out of range: ${value}`);
    }
  }

  u8(value: number): this {
    this.#check(value, 0, 0xff, "8-bit field");
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
    return this;
  }

  u16(value: number): this {
    this.#check(value, 0, 0xffff, "16-bit field");
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
    return this;
  }

  i16(value: number): this {
    this.#check(value, -0x8000, 0x7fff, "Signed 16-bit field");
    const at = this.#reserve(2);
    this.#view.setInt16(at, value);
    return this;
  }

  u24(value: number): this {
    this.#check(value, 0, 0xff_ffff, "24-bit field");
    const at = this.#reserve(3);
    this.#view.setUint8(at, value >> 16);
    this.#view.setUint16(at + 1, value & 0xffff);
    return this;
  }

  u32(value: number): this {
    this.#check(value, 0, 0xffff_ffff, "32-bit field");
    const at = this.#reserve(4);
    this.#view.setUint32(at, value);
    return this;
  }

  i32(value: number): this {
    this.#check(value, -0x8000_0000, 0x7fff_ffff, "Signed 32-bit field");
    const at = this.#reserve(4);
    this.#view.setInt32(at, value);
    return this;
  }

  u64(value: number): this {
    this.#check(value, 0, Number.MAX_SAFE_INTEGER, "64-bit field");
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, BigInt(value));
    return this;
  }

  /** `n` zero bytes (reserved and pre_defined fields). */
  zeros(n: number): this {
    const at = this.#reserve(n);
    this.#buffer.fill(0, at, this.#length);
    return this;
  }

  /** Raw bytes, copied in. */
  raw(bytes: Uint8Array): this {
    const at = this.#reserve(bytes.length);
    this.#buffer.set(bytes, at);
    return this;
  }

  /** The fields written so far (a view of the internal buffer; do not write more after). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}
