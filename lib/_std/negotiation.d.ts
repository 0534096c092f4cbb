/** Returns the media type the request prefers among `types`, if any (see @std/http). */
export function accepts(
  request: Request,
  ...types: string[]
): string | undefined;
