/**
 * The accept loop of a listener, which outlives failures to accept: running out of file
 * descriptors (`EMFILE`, `ENFILE`) leaves the connection in the kernel's backlog and the listener
 * working, so the loop waits and tries again rather than ending (which would leave a server that
 * answers nothing, for good) or retrying at once (a hot loop that takes a core while it lasts).
 *
 * @module
 */

import { errorMessage, type Logger, SILENT } from "../../log.ts";

/** First and longest wait between two failed accepts (ms). */
const FIRST_WAIT = 50;
const LONGEST_WAIT = 1000;

/** Options of `acceptLoop`. */
export interface AcceptLoopOptions {
  log?: Logger;
  /** Whether the listener is being closed on purpose: a failure then ends the loop quietly. */
  closing: () => boolean;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const hint = code === "EMFILE" || code === "ENFILE"
    ? " (out of file descriptors: raise `ulimit -n`, or lower --max-clients)"
    : "";
  return `${errorMessage(error)}${hint}`;
}

/**
 * Accepts connections from `listener` and hands each to `serve` until the listener is closed.
 * While accepting fails it waits (50 ms, doubling to 1 s) and tries again; it logs one WARN line
 * when the failures start and one INFO line when accepting works again, with their count.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { acceptLoop } from "./accept_loop.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let closing = false;
 * const done = acceptLoop(listener, (conn) => conn.close(), { closing: () => closing });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * assertEquals(await conn.read(new Uint8Array(1)), null);
 * conn.close();
 * closing = true;
 * listener.close();
 * await done;
 * ```
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  serve: (conn: C) => void,
  options: AcceptLoopOptions,
): Promise<void> {
  const log = options.log ?? SILENT;
  let failures = 0;
  let since = 0;
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (options.closing() || error instanceof Deno.errors.BadResource) return;
      if (failures++ === 0) {
        since = performance.now();
        log.warn(`Cannot accept connections: ${describe(error)}; trying again until it works`);
      }
      const wait = Math.min(LONGEST_WAIT, FIRST_WAIT * 2 ** Math.min(failures - 1, 5));
      await new Promise((resolve) => setTimeout(resolve, wait));
      continue;
    }
    if (failures > 0) {
      const seconds = ((performance.now() - since) / 1000).toFixed(1);
      log.info(`Accepting connections again, after ${failures} failed attempts in ${seconds} s`);
      failures = 0;
    }
    serve(conn);
  }
}
