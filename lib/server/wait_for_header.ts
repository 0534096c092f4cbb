/**
 * A viewer's request may come before the mount's source: it waits a while for the header.
 *
 * @module
 */

import type { LiveHeader } from "../matroska/live_header.ts";
import type { Mount } from "../stream/mount.ts";

/**
 * The mount's header once it has one (at once when it has), or `undefined` after `timeout` ms
 * or when the mount ended without one.
 */
export async function waitForHeader(
  mount: Mount,
  timeout: number,
): Promise<LiveHeader | undefined> {
  if (mount.header || mount.ended) return mount.header;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeout);
  });
  try {
    return await Promise.race([mount.ready, expired]);
  } finally {
    clearTimeout(timer);
  }
}
