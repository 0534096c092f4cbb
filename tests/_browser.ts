// Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core,
// with a fresh profile per launch. Missing Chromium fails the tests (they never skip).
import { assert } from "@std/assert";
import { type BrowserContext, chromium } from "./_playwright.ts";

const CHROMIUM = "/usr/bin/chromium";

/** The flags of the issue: no sandbox (root in CI), no GPU, nothing fetched from the network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // A muted <video autoplay> may play anyway; this keeps the test independent of that policy.
  "--autoplay-policy=no-user-gesture-required",
];

/** Fails (never skips) when the browser is not installed, saying how to install it. */
async function requireChromium(): Promise<void> {
  try {
    const info = await Deno.stat(CHROMIUM);
    assert(info.isFile, `${CHROMIUM} is not a file`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `Chromium is missing: ${CHROMIUM} not found. The browser tests need it; install it with ` +
        "`bash .ci/install-browser` (Debian package chromium)",
    );
  }
}

/** A browser with a fresh profile in a temp directory; `close` removes both. */
export async function launchBrowser(): Promise<
  { context: BrowserContext; close(): Promise<void> }
> {
  await requireChromium();
  const profile = await Deno.makeTempDir({ prefix: "mkserver_chromium_" });
  // Playwright takes the profile (--user-data-dir) only through launchPersistentContext.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  }).catch(async (error) => {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw error;
  });
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    },
  };
}

/**
 * Polls `probe` every 200 ms until `done` holds for its result, and returns that result. Throws
 * after `timeout` ms with `explain(last result)`.
 */
export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeout: number,
  explain: (last: T | undefined) => string | Promise<string>,
): Promise<T> {
  const deadline = performance.now() + timeout;
  let last: T | undefined;
  while (performance.now() < deadline) {
    last = await probe();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(await explain(last));
}
