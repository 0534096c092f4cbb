/**
 * Malformed EBML input, with the absolute byte offset where it was found.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlSyntaxError } from "./ebml_syntax_error.ts";
 * const error = new EbmlSyntaxError("Invalid element ID", 42);
 * assertEquals(error.offset, 42);
 * ```
 */
export class EbmlSyntaxError extends SyntaxError {
  /** Absolute offset in the input of the byte that could not be parsed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "EbmlSyntaxError";
    this.offset = offset;
  }
}
