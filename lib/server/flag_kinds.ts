/**
 * The kinds of flag in the flag table (`flags.ts`, `access_webhook_flags.ts`), and how an entry
 * is written.
 *
 * @module
 */

/** The headings `--help` groups flags under, in order. */
export type FlagSection =
  | "Options"
  | "Pushed sources"
  | "Delivery"
  | "Recording"
  | "Connections"
  | "Access"
  | "Webhooks"
  | "Operation";

interface FlagBase {
  /** Long name: `--NAME` on the command line, `"NAME"` in a config file. */
  readonly name: string;
  /** One-letter alias: `-X`. */
  readonly short?: string;
  readonly section: FlagSection;
  /** The lines of its `--help` entry, wrapped by hand; `{default}` stands for the default. */
  readonly help: readonly string[];
  /** False for flags a config file may not set (`--help`, `--version`, `--config`). */
  readonly inFile?: false;
}

/** A flag that takes a value (`--port 8080`, `--port=8080`). */
export interface ValueFlag<T> extends FlagBase {
  readonly kind: "string";
  /** The value's placeholder in `--help` (`N`, `S`, `FILE`). */
  readonly arg: string;
  /** The value when the flag is absent, written as a user would (and parsed the same way). */
  readonly default?: string;
  /** Turns the text into the setting; throws `UsageError` naming `flag` when it is wrong. */
  readonly parse: (text: string, flag: string) => T;
  /**
   * The flag may be given several times, each value kept (`--webhook A --webhook B`; in a
   * config file, a string or an array of strings). Such a flag has no default.
   */
  readonly repeatable?: true;
  /** A config file may give an object `{"NAME": "VALUE"}`, read as `NAME=VALUE,…`. */
  readonly mapInFile?: true;
}

/** A flag that is on or off. One that is on by default is written `--no-NAME`. */
export interface SwitchFlag extends FlagBase {
  readonly kind: "boolean";
  readonly default?: boolean;
}

/** Any flag of the table. */
export type Flag = ValueFlag<unknown> | SwitchFlag;

/** A flag that takes a value: `kind` filled in. */
export function value<T>(spec: Omit<ValueFlag<T>, "kind">): ValueFlag<T> {
  return { kind: "string", ...spec };
}

/** A switch: `kind` filled in. */
export function toggle(spec: Omit<SwitchFlag, "kind">): SwitchFlag {
  return { kind: "boolean", ...spec };
}
