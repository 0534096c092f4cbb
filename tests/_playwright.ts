/**
 * playwright-core for the browser tests, pinned here in one place (it drives Debian's
 * /usr/bin/chromium; no browser download). Re-exported, like lib/_std/, so the tests import it
 * without an inline `npm:` specifier.
 *
 * @module
 */

export { type BrowserContext, chromium, type Page } from "npm:playwright-core@1.65.1";
