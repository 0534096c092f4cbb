/**
 * Process and timing helpers shared by the benchmarks and the tests: waiting (`sleep`, `until`,
 * `untilDefined`) and what Linux tells about a process in `/proc` (resident memory, open file
 * descriptors, CPU time). Written once here so every figure in a report or an assertion is
 * measured the same way.
 *
 * The `/proc` readers return `NaN` once the process is gone: a bench samples processes that may
 * exit mid-run and keeps going, and a test that compares the figure with a bound fails anyway
 * (`NaN <= bound` is false).
 *
 * @module
 */

/** Resolves after `ms` milliseconds (at once when `ms` is negative). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Options of `until` and `untilDefined`. */
export interface PollOptions {
  /** Milliseconds between two checks. Default 100. */
  every?: number;
}

/**
 * Checks `condition` until it holds or `timeout` ms have passed; resolves whether it held. It
 * does not throw on a timeout, so the caller asserts with its own message.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeout: number,
  options: PollOptions = {},
): Promise<boolean> {
  const end = performance.now() + timeout;
  while (!(await condition())) {
    if (performance.now() > end) return false;
    await sleep(options.every ?? 100);
  }
  return true;
}

/** Options of `untilDefined`. */
export interface UntilDefinedOptions extends PollOptions {
  /**
   * Count a check that throws as "not yet" (for checks that go through a network that may be
   * down for a while); the last error is named if the wait times out. By default an error is
   * thrown at once.
   */
  retryErrors?: boolean;
}

/**
 * Calls `check` until it returns a value other than `undefined`, and resolves with it. Throws
 * "Timed out waiting for `what`" after `timeout` ms.
 */
export async function untilDefined<T>(
  check: () => Promise<T | undefined>,
  timeout: number,
  what: string,
  options: UntilDefinedOptions = {},
): Promise<T> {
  const end = performance.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (!options.retryErrors) throw error;
      last = error;
    }
    if (performance.now() > end) {
      throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    }
    await sleep(options.every ?? 100);
  }
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${file}`);
  } catch {
    return undefined;
  }
}

/** VmRSS of a process in MiB (from `/proc/PID/status`), or NaN when it is gone. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readProc(pid, "status") ?? "");
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Open file descriptors of a process (entries of `/proc/PID/fd`), or NaN when it is gone. */
export function fdCount(pid: number): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  } catch {
    return NaN;
  }
  return n;
}

/** `AT_CLKTCK` in the ELF auxiliary vector: what `sysconf(_SC_CLK_TCK)` returns. */
const AT_CLKTCK = 17n;
let clockTicks: number | undefined;

/**
 * Clock ticks per second, the unit of the CPU times in `/proc/PID/stat` (proc(5)). Read once
 * from this process's auxiliary vector, where the kernel puts it (`/proc/self/auxv`: pairs of
 * native-endian 64-bit type and value), rather than assumed to be 100: the kernel's `USER_HZ`
 * is a build option.
 */
export function clockTicksPerSecond(): number {
  if (clockTicks !== undefined) return clockTicks;
  // A copy starts at offset 0 of its own buffer, as a 64-bit view needs.
  const bytes = Deno.readFileSync("/proc/self/auxv").slice();
  const words = new BigUint64Array(bytes.buffer, 0, bytes.byteLength >> 3);
  for (let i = 0; i + 1 < words.length; i += 2) {
    if (words[i] === AT_CLKTCK) return clockTicks = Number(words[i + 1]);
  }
  throw new RangeError("No AT_CLKTCK in /proc/self/auxv");
}

/**
 * CPU seconds (user + system, all threads) of a process, from `/proc/PID/stat`, or NaN when it
 * is gone. The fields are counted after the command name's closing parenthesis, since the name
 * itself may hold spaces.
 */
export function cpuSeconds(pid: number): number {
  const text = readProc(pid, "stat");
  if (text === undefined) return NaN;
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of proc(5), 12 and 13 after the name (0-based 11, 12).
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

/**
 * CPU seconds of a process and its children (e.g. nginx's master and workers), from
 * each task's `/proc/PID/task/TID/children`; NaN when the process is gone.
 */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  let tasks: string[] = [];
  try {
    tasks = [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => e.name);
  } catch {
    return total;
  }
  for (const task of tasks) {
    const children = readProc(pid, `task/${task}/children`)?.trim().split(/\s+/) ?? [];
    for (const child of children) if (child) total += treeCpuSeconds(Number(child));
  }
  return total;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a tool that must be told its port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
