/** Internal invariant check: throws when a condition the code relies on is false. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Invariant failed: ${message}`);
}
