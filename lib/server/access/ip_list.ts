/**
 * IP address lists for access control: CIDR blocks of IPv4 (`10.0.0.0/8`) and IPv6
 * (`2001:db8::/32`), parsed strictly and matched against a peer's address.
 *
 * @module
 */

/** A list, a block or an address that is not written as RFC 4632 / RFC 4291 say. */
export class IpSyntaxError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "IpSyntaxError";
  }
}

/** An address as 16 bytes (IPv4 as its IPv4-mapped IPv6 form, RFC 4291 §2.5.5.2). */
type Address = Uint8Array;

const IPV4_PART = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Dotted-quad IPv4 (no leading zeros, which some parsers read as octal) into 4 bytes. */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p))) return undefined;
  return parts.map(Number);
}

/** The 16-bit groups of one side of `::`, IPv4 allowed at the end when `tail` is true. */
function parseGroups(text: string, tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (tail && i === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (!v4) return undefined;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** IPv6 text (RFC 4291 §2.2, zone ids refused) into 8 groups. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const groups = parseGroups(text, true);
    return groups?.length === 8 ? groups : undefined;
  }
  const head = parseGroups(halves[0], false);
  const tail = parseGroups(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Parses an IPv4 or IPv6 address (brackets around IPv6 allowed) into 16 bytes; IPv4 becomes
 * `::ffff:a.b.c.d`, so an IPv4 peer on a dual-stack socket matches IPv4 blocks. Undefined for
 * anything else.
 */
export function parseIp(text: string): Address | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const bytes = new Uint8Array(16);
  const v4 = parseIpv4(bare);
  if (v4) {
    bytes.set([0xff, 0xff, ...v4], 10);
    return bytes;
  }
  if (!bare.includes(":")) return undefined;
  const groups = parseIpv6(bare);
  if (!groups) return undefined;
  groups.forEach((g, i) => bytes.set([g >> 8, g & 0xff], i * 2));
  return bytes;
}

/** One CIDR block: an address and how many leading bits must match. */
interface Block {
  bytes: Address;
  bits: number;
  text: string;
}

function parseBlock(text: string): Block {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(address);
  if (!bytes) throw new IpSyntaxError(`Invalid IP address: '${address}'`);
  const v4 = !address.includes(":");
  const max = v4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const length = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(length) || Number(length) > max) {
      throw new IpSyntaxError(`Invalid prefix length in '${text}' (expected 0 to ${max})`);
    }
    bits = Number(length);
  }
  // An IPv4 block covers the mapped range: its prefix starts after the 96 bits of ::ffff:.
  return { bytes, bits: v4 ? bits + 96 : bits, text };
}

function matches(block: Block, address: Address): boolean {
  let bits = block.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((block.bytes[i] & mask) !== (address[i] & mask)) return false;
  }
  return true;
}

/**
 * A list of CIDR blocks, IPv4 and IPv6 mixed. A bare address is a block of one.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { IpList } from "./ip_list.ts";
 * const list = IpList.parse("10.0.0.0/8, 2001:db8::/32");
 * assert(list.includes("10.1.2.3"));
 * assert(list.includes("2001:db8::1"));
 * assert(list.includes("::ffff:10.9.9.9"));
 * assert(!list.includes("192.168.0.1"));
 * ```
 */
export class IpList {
  #blocks: Block[];

  private constructor(blocks: Block[]) {
    this.#blocks = blocks;
  }

  /**
   * Parses a comma-separated list of blocks. Throws `IpSyntaxError` naming the first bad entry
   * (also for an empty list).
   */
  static parse(text: string): IpList {
    const entries = text.split(",").map((s) => s.trim());
    if (entries.some((e) => e === "")) {
      throw new IpSyntaxError(`Invalid address list: '${text}' (an entry is empty)`);
    }
    return new IpList(entries.map(parseBlock));
  }

  /**
   * Whether `address` (text as a peer's address reads) is in a block; false if it is no IP. A
   * link-local peer's zone (`fe80::1%eth0`) is not part of its address.
   */
  includes(address: string): boolean {
    const bytes = parseIp(address.replace(/%[A-Za-z0-9_.-]+$/, ""));
    return bytes !== undefined && this.#blocks.some((b) => matches(b, bytes));
  }

  /** The blocks as given. */
  toString(): string {
    return this.#blocks.map((b) => b.text).join(",");
  }
}
