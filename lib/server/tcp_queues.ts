/**
 * The kernel's unacknowledged send queue per TCP connection, from Linux's /proc/net/tcp and
 * /proc/net/tcp6: how a server tells a viewer that stopped reading from one that is slow. Write
 * backpressure alone notices late, since the kernel buffers up to about 4 MiB per connection.
 *
 * @module
 */

/** Bytes written but not yet acknowledged by the peer, by the peer's `address:port`. */
export type SendQueues = Map<string, number>;

/** Decodes a /proc/net/tcp address (`0100007F:1F90`) into `127.0.0.1:8080`, IPv4 or IPv6. */
export function decodeProcAddress(hex: string): string {
  const [ip, port] = hex.split(":");
  const portNumber = parseInt(port, 16);
  if (ip.length === 8) {
    // One 32-bit word in the host's (little-endian) byte order.
    const bytes = [6, 4, 2, 0].map((i) => parseInt(ip.slice(i, i + 2), 16));
    return `${bytes.join(".")}:${portNumber}`;
  }
  // Four 32-bit words, each little-endian.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = ip.slice(w * 8, w * 8 + 8);
    for (const i of [6, 4, 2, 0]) {
      bytes.push(parseInt(word.slice(i, i + 2), 16));
    }
  }
  if (
    bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff
  ) {
    return `${bytes.slice(12).join(".")}:${portNumber}`; // an IPv4-mapped address
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  }
  return `${groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::")}:${portNumber}`;
}

/**
 * Parses the text of /proc/net/tcp or /proc/net/tcp6 into send queues of established
 * connections, keyed by remote address (as `decodeProcAddress` writes it).
 */
export function parseProcNetTcp(
  text: string,
  into: SendQueues = new Map(),
  localPort?: number,
): SendQueues {
  // With a local port, only that port's lines are split into fields (a busy machine has many).
  const tag = localPort === undefined
    ? undefined
    : `:${localPort.toString(16).toUpperCase().padStart(4, "0")} `;
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (tag !== undefined && !line.includes(tag)) continue;
    const fields = line.trim().split(/\s+/);
    if (tag !== undefined && !fields[1]?.endsWith(tag.trimEnd())) continue;
    if (fields.length < 5 || fields[3] !== "01") continue; // 01: ESTABLISHED
    const tx = parseInt(fields[4].split(":")[0], 16);
    into.set(decodeProcAddress(fields[2]), tx);
  }
  return into;
}

/**
 * Reads the send queues of established TCP connections (those of `localPort`, when given), or
 * undefined off Linux.
 */
export function readTcpSendQueues(localPort?: number): SendQueues | undefined {
  const queues: SendQueues = new Map();
  let found = false;
  for (const path of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      parseProcNetTcp(Deno.readTextFileSync(path), queues, localPort);
      found = true;
    } catch { /* not Linux, or no IPv6 */ }
  }
  return found ? queues : undefined;
}
