/** Error thrown by the assertions. */
export class AssertionError extends Error {}
/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, msg?: string): asserts expr;
/** Asserts that `expr` is falsy. */
export function assertFalse(expr: unknown, msg?: string): void;
/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void;
/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void;
/** Asserts `Object.is` equality. */
export function assertStrictEquals<T>(
  actual: unknown,
  expected: T,
  msg?: string,
): asserts actual is T;
/** Asserts that a value is neither null nor undefined. */
export function assertExists<T>(
  actual: T,
  msg?: string,
): asserts actual is NonNullable<T>;
/** Asserts `actual > expected`. */
export function assertGreater<T>(actual: T, expected: T, msg?: string): void;
/** Asserts `actual >= expected`. */
export function assertGreaterOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void;
/** Asserts `actual < expected`. */
export function assertLess<T>(actual: T, expected: T, msg?: string): void;
/** Asserts `actual <= expected`. */
export function assertLessOrEqual<T>(
  actual: T,
  expected: T,
  msg?: string,
): void;
/** Asserts that a string matches a regular expression. */
export function assertMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void;
/** Asserts that a string does not match a regular expression. */
export function assertNotMatch(
  actual: string,
  expected: RegExp,
  msg?: string,
): void;
/** Asserts that a string contains another. */
export function assertStringIncludes(
  actual: string,
  expected: string,
  msg?: string,
): void;
/** Asserts that an object is an instance of a class. */
export function assertInstanceOf<
  T extends abstract new (...args: never[]) => unknown,
>(
  actual: unknown,
  expectedType: T,
  msg?: string,
): asserts actual is InstanceType<T>;
/** Asserts that `fn` throws; returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: abstract new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
): E;
/** Asserts that `fn` rejects; returns the error. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: abstract new (...args: never[]) => E,
  msgIncludes?: string,
  msg?: string,
): Promise<E>;
/** Fails the test. */
export function fail(msg?: string): never;
