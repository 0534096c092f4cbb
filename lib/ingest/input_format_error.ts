/**
 * The error for input that is not Matroska/WebM, and the check that raises it.
 *
 * @module
 */

import { hexPrefix, sniffFormat } from "./sniff_format.ts";

/**
 * The input is not something mkserver can ingest (empty, or not Matroska/WebM).
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { checkFormat, InputFormatError } from "./input_format_error.ts";
 * const error = assertThrows(() => checkFormat(new TextEncoder().encode("<html>")), InputFormatError);
 * assertEquals(error.format, "text");
 * ```
 */
export class InputFormatError extends TypeError {
  /** The format recognized from the first bytes (`"mp4"`, `"text"`, `"empty"`, …). */
  readonly format: string;

  constructor(message: string, format: string) {
    super(message);
    this.name = "InputFormatError";
    this.format = format;
  }
}

/**
 * Checks the first bytes of an input (at least four, unless it is shorter): a file of another
 * format gets an error that names it, not the parser's complaint about its first byte.
 *
 * @throws {InputFormatError} when `head` is empty or does not start with the EBML magic
 */
export function checkFormat(head: Uint8Array): void {
  if (head.length === 0) throw new InputFormatError("Input is empty", "empty");
  const format = sniffFormat(head);
  if (format === "ebml") return;
  const looks = format === "unknown" ? "" : ` (looks like ${format})`;
  throw new InputFormatError(
    `Input is not Matroska or WebM: it starts with ${hexPrefix(head)}${looks}`,
    format,
  );
}
