/**
 * The lingering close of a refused connection (as nginx's `lingering_close`): closing a socket
 * with unread bytes in its receive queue makes the kernel send a reset instead of a FIN, and a
 * reset can destroy the refusal before the peer has read it. So the write side is shut first,
 * and what the peer still sends is read and dropped for a moment.
 *
 * @module
 */

/** What `linger` needs of a connection (a `Deno.Conn` has both). */
export interface LingeringConn {
  read(into: Uint8Array): Promise<number | null>;
  closeWrite(): Promise<void>;
}

/** Most bytes `linger` reads before it gives up on the peer's end. */
const MAX_DRAINED = 1 << 20;

/**
 * Shuts the write side of `conn`, then reads and drops what comes until the peer's end, `ms`
 * milliseconds or 1 MiB, whichever comes first. Never throws; the caller closes `conn` after,
 * which ends a read still pending.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { linger } from "./linger.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * await client.write(new Uint8Array(100));
 * const lingering = linger(server, 1000);
 * assertEquals(await client.read(new Uint8Array(1)), null); // the server's FIN
 * client.close();
 * await lingering;
 * server.close();
 * listener.close();
 * ```
 */
export async function linger(conn: LingeringConn, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => timer = setTimeout(resolve, ms, "expired"));
  try {
    await conn.closeWrite();
    const scratch = new Uint8Array(16 * 1024);
    for (let drained = 0; drained < MAX_DRAINED;) {
      const read = conn.read(scratch);
      read.catch(() => {});
      const n = await Promise.race([read, expired]);
      if (n === null || n === "expired") break;
      drained += n;
    }
  } catch { /* reset or closed: nothing more to wait for */ }
  clearTimeout(timer);
}
