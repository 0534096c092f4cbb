/** A value JSON can hold (see @std/jsonc). */
export type JsonValue =
  | { [key: string]: JsonValue | undefined }
  | JsonValue[]
  | string
  | number
  | boolean
  | null;

/**
 * Parses JSON with comments (`//`, `/* *\/`) and trailing commas (std's `parse` from
 * @std/jsonc). Throws `SyntaxError` ("Cannot parse JSONC: … at position N") when it is invalid.
 */
export function parse(text: string): JsonValue;
