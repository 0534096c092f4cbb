// A lightweight LL-HLS follower for tests and benches: blocking reloads for the next part, then
// every new part and init, until its signal aborts. It records what it fetched.

/** What followers fetched. */
export interface FollowStats {
  requests: number;
  /** Body bytes received (playlists, inits and parts). */
  bytes: number;
  /** Responses other than 200, by status. */
  errors: Record<number, number>;
  /** Object paths fetched (inits and parts). */
  objects: Set<string>;
}

export function followStats(): FollowStats {
  return { requests: 0, bytes: 0, errors: {}, objects: new Set() };
}

async function get(
  url: string,
  s: FollowStats,
  signal: AbortSignal,
): Promise<Uint8Array | undefined> {
  s.requests++;
  try {
    const response = await fetch(url, { signal });
    if (response.status !== 200) {
      s.errors[response.status] = (s.errors[response.status] ?? 0) + 1;
      await response.body?.cancel();
      return undefined;
    }
    const body = new Uint8Array(await response.arrayBuffer());
    s.bytes += body.byteLength;
    return body;
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
}

/** Follows one LL-HLS media playlist at `url` as a low-latency player does. */
export async function followRendition(
  url: string,
  s: FollowStats,
  signal: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  let next = "";
  while (!signal.aborted) {
    const body = await get(url + next, s, signal);
    if (body === undefined) {
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 200));
      next = "";
      continue;
    }
    const text = new TextDecoder().decode(body);
    const uris = [
      ...text.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g),
      ...text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g),
    ].map((m) => new URL(m[1], url).href);
    const fresh = uris.filter((u) => !seen.has(u));
    fresh.forEach((u) => seen.add(u));
    // A joining player starts near the live edge: the init and the newest parts.
    const wanted = next ? fresh : fresh.filter((u) => u.endsWith(".mp4")).concat(fresh.slice(-2));
    for (const u of wanted) {
      if ((await get(u, s, signal)) !== undefined) s.objects.add(new URL(u).pathname);
    }
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]*\/([0-9]+)\.([0-9]+)\.m4s"/.exec(text);
    next = hint ? `?_HLS_msn=${hint[1]}&_HLS_part=${hint[2]}` : "";
  }
}
