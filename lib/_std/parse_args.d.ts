/** Options of `parseArgs` (the subset mkserver uses; see @std/cli). */
export interface ParseOptions {
  boolean?: string | readonly string[];
  string?: string | readonly string[];
  collect?: readonly string[];
  negatable?: readonly string[];
  alias?: Record<string, string | readonly string[]>;
  default?: Record<string, unknown>;
  stopEarly?: boolean;
  "--"?: boolean;
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

/** The parsed arguments: flags by name, positionals in `_`. */
export interface Args {
  _: Array<string | number>;
  "--"?: string[];
  [key: string]: unknown;
}

/** Parses command line arguments (std's `parseArgs`). */
export function parseArgs(
  args: readonly string[],
  options?: ParseOptions,
): Args;
