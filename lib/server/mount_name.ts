/**
 * Mount names as they appear in paths (`/live/NAME`, `/admin/mounts/NAME/end`).
 *
 * @module
 */

/**
 * The mount name a path segment spells, or `undefined` when its percent-encoding is malformed
 * (`%zz`, a lone `%`, bytes that are not UTF-8), which the caller answers with 400.
 */
export function decodeMountName(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The 400 body for a malformed name in `pathname`. */
export function badMountName(pathname: string): string {
  return `Bad mount name in ${pathname}: malformed percent-encoding`;
}
