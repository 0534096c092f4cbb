/**
 * Fuzzes the parser: `deno task fuzz [--count N] [--seed S] [--time SECONDS] [--workers W]`.
 *
 * Inputs are numbered from the seed (input `k` is `makeInput(corpus, seed + k)`), so any input is
 * rebuilt from its number. The fuzzing runs in workers; the main thread watches a heartbeat per
 * worker, so an input that loops forever without emitting anything is caught too: the worker is
 * terminated and replaced. Inputs that find a bug are saved as `testdata/fuzz/crash-<seed>.bin`
 * (replayed by `tests/fuzz_test.ts`) and the exit code is 1.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import {
  type CorpusEntry,
  FUZZ_TIME_LIMIT,
  type FuzzResult,
  makeCorpus,
  makeInput,
  runOne,
} from "./fuzz_harness.ts";
import { readMediaFiles, TESTDATA } from "../tests/_util.ts";

const WORKER_NAME = "mkserver-fuzz";
const CRASH_DIR = new URL("fuzz/", TESTDATA);
/** A worker silent for this long is hung (inputs that still emit are stopped at 2 s by the harness). */
const HANG_MS = 3 * FUZZ_TIME_LIMIT;
/** At most this many crash files per run: one bug tends to show up in many inputs. */
const MAX_SAVED = 20;

const USAGE = `Usage: deno run -A bench/fuzz.ts [options]

Options:
  --count N      inputs to run (default 1000000)
  --seed S       number of the first input (default: random)
  --time SECONDS stop after this long (default: no limit)
  --workers W    parallel workers (default 1)
  --help         show this help`;

interface Counts {
  inputs: number;
  ok: number;
  EbmlSyntaxError: number;
  RangeError: number;
  TypeError: number;
  bugs: number;
}

type FromWorker =
  | {
    type: "progress";
    worker: number;
    counts: Counts;
    messages: Record<string, number>;
  }
  | {
    type: "bug";
    worker: number;
    seed: number;
    description: string;
    reason: string;
    bytes: Uint8Array;
  }
  | { type: "done"; worker: number };

interface WorkerStart {
  corpus: { name: string; bytes: Uint8Array }[];
  first: number;
  step: number;
  end: number;
  /** Per worker: [seed of the input in progress, inputs started]; slot 0 is the stop flag. */
  shared: SharedArrayBuffer;
  worker: number;
}

function zeroCounts(): Counts {
  return {
    inputs: 0,
    ok: 0,
    EbmlSyntaxError: 0,
    RangeError: 0,
    TypeError: 0,
    bugs: 0,
  };
}

/** Error message with its numbers replaced, to group typed errors by kind. */
function messageKind(result: FuzzResult): string {
  if (result.kind !== "typed") return result.kind;
  let message = result.message
    .replace(/ \(at byte \d+\)$/, "")
    .replace(/0x[0-9A-F]+|\d+(\.\d+)?/g, "#");
  // Long details (track lists, garbage CodecIDs) would make every message its own kind.
  if (message.length > 72 || /[^\x20-\x7e]/.test(message)) {
    message = `${message.split(":")[0]}: …`;
  }
  return `${result.error}: ${message}`;
}

/** The worker side: runs its share of the inputs and reports. */
function workerMain(): void {
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent<WorkerStart>) => void) | null;
    postMessage(message: FromWorker): void;
  };
  scope.onmessage = (e) => {
    const { first, step, end, worker } = e.data;
    const corpus: CorpusEntry[] = makeCorpus(e.data.corpus);
    const seeds = new Float64Array(e.data.shared, 8);
    const stop = new Int32Array(e.data.shared, 0, 1);
    const counts = zeroCounts();
    const messages: Record<string, number> = {};
    let lastReport = performance.now();
    const report = () => {
      scope.postMessage({ type: "progress", worker, counts, messages });
    };
    for (let seed = first; seed < end; seed += step) {
      if (Atomics.load(stop, 0) !== 0) break;
      seeds[2 * worker] = seed;
      seeds[2 * worker + 1]++;
      const input = makeInput(corpus, seed);
      let result: FuzzResult;
      try {
        result = runOne(input.bytes, seed);
      } catch (error) {
        // runOne catches what the pipeline throws; this is the harness itself failing.
        result = { kind: "bug", reason: `harness failed: ${error}`, error };
      }
      counts.inputs++;
      const kind = messageKind(result);
      messages[kind] = (messages[kind] ?? 0) + 1;
      if (result.kind === "ok") counts.ok++;
      else if (result.kind === "typed") counts[result.error]++;
      else {
        counts.bugs++;
        scope.postMessage({
          type: "bug",
          worker,
          seed,
          description: input.description,
          reason: result.reason +
            (result.error instanceof Error && result.error.stack
              ? `\n${result.error.stack.split("\n").slice(1, 4).join("\n")}`
              : ""),
          bytes: input.bytes,
        });
      }
      if (performance.now() - lastReport > 500) {
        report();
        lastReport = performance.now();
      }
    }
    report();
    scope.postMessage({ type: "done", worker });
  };
}

function printUsage(): void {
  console.log(USAGE);
}

async function saveCrash(seed: number, bytes: Uint8Array): Promise<string> {
  await Deno.mkdir(CRASH_DIR, { recursive: true });
  const url = new URL(`crash-${seed}.bin`, CRASH_DIR);
  await Deno.writeFile(url, bytes);
  return url.pathname;
}

/** Runs the fuzzer; resolves with the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseArgs(args, {
    string: ["count", "seed", "time", "workers"],
    boolean: ["help"],
  });
  if (flags.help) {
    printUsage();
    return 0;
  }
  const count = Number(flags.count ?? 1_000_000);
  const seed = flags.seed !== undefined ? Number(flags.seed) : Math.floor(Math.random() * 2 ** 31);
  const seconds = flags.time !== undefined ? Number(flags.time) : Infinity;
  const workers = Number(flags.workers ?? 1);
  if (
    !Number.isSafeInteger(count) || count < 0 || !Number.isSafeInteger(seed) ||
    seed < 0 ||
    !(seconds > 0) || !Number.isSafeInteger(workers) || workers < 1
  ) {
    console.error("Invalid option value");
    printUsage();
    return 2;
  }
  const files = await readMediaFiles();
  const corpus = makeCorpus(files);
  console.log(
    `fuzz: seed ${seed}, count ${count}, time ${
      seconds === Infinity ? "unlimited" : `${seconds} s`
    }, ${workers} worker(s), ${files.length} fixtures`,
  );

  const shared = new SharedArrayBuffer(8 + 16 * workers);
  const stop = new Int32Array(shared, 0, 1);
  const beats = new Float64Array(shared, 8);
  const totals = new Map<number, Counts>();
  const messages = new Map<number, Record<string, number>>();
  /** Counts of workers that were terminated, kept when they are replaced. */
  const retired = zeroCounts();
  const retiredMessages: Record<string, number> = {};
  const bugs: string[] = [];
  let saved = 0;
  const started = performance.now();
  const end = seed + count;

  const sum = (): Counts => {
    const all = { ...retired };
    for (const c of totals.values()) {
      for (const k of Object.keys(all) as (keyof Counts)[]) all[k] += c[k];
    }
    return all;
  };
  const recordBug = async (
    s: number,
    description: string,
    reason: string,
    bytes: Uint8Array,
  ) => {
    const where = saved < MAX_SAVED ? await saveCrash(s, bytes) : "(not saved)";
    saved++;
    const line = `BUG seed ${s} [${description}] ${reason}\n  -> ${where}`;
    bugs.push(line);
    console.log(line);
  };

  let running = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const live: (Worker | undefined)[] = [];
  const lastBeat: { count: number; at: number }[] = [];

  const spawn = (w: number, first: number) => {
    const worker = new Worker(import.meta.url, {
      type: "module",
      name: WORKER_NAME,
    });
    live[w] = worker;
    running++;
    lastBeat[w] = { count: beats[2 * w + 1], at: performance.now() };
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "progress") {
        totals.set(w, { ...m.counts });
        messages.set(w, { ...m.messages });
      } else if (m.type === "bug") {
        recordBug(m.seed, m.description, m.reason, m.bytes);
      } else {
        worker.terminate();
        live[w] = undefined;
        if (--running === 0) finish();
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      console.error(`worker ${w} failed: ${e.message}`);
      retired.bugs++;
      worker.terminate();
      live[w] = undefined;
      if (--running === 0) finish();
    };
    const start: WorkerStart = {
      corpus: files,
      first,
      step: workers,
      end,
      shared,
      worker: w,
    };
    worker.postMessage(start);
  };
  for (let w = 0; w < workers; w++) spawn(w, seed + w);

  let lastPrint = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (now - started > seconds * 1000) Atomics.store(stop, 0, 1);
    for (let w = 0; w < workers; w++) {
      const worker = live[w];
      if (worker === undefined) continue;
      const beat = beats[2 * w + 1];
      if (beat !== lastBeat[w].count) {
        lastBeat[w] = { count: beat, at: now };
      } else if (now - lastBeat[w].at > HANG_MS) {
        // The input in progress hangs: save it, replace the worker after it.
        const s = beats[2 * w];
        worker.terminate();
        live[w] = undefined;
        running--;
        const c = totals.get(w) ?? zeroCounts();
        for (const k of Object.keys(retired) as (keyof Counts)[]) {
          retired[k] += c[k];
        }
        for (const [k, v] of Object.entries(messages.get(w) ?? {})) {
          retiredMessages[k] = (retiredMessages[k] ?? 0) + v;
        }
        retired.inputs++;
        retired.bugs++;
        totals.delete(w);
        messages.delete(w);
        const input = makeInput(corpus, s);
        recordBug(
          s,
          input.description,
          `no progress for ${HANG_MS} ms (hang)`,
          input.bytes,
        );
        if (s + workers < end && Atomics.load(stop, 0) === 0) {
          spawn(w, s + workers);
        } else if (running === 0) finish();
      }
    }
    if (now - lastPrint > 10_000) {
      lastPrint = now;
      const c = sum();
      const rate = c.inputs / ((now - started) / 1000);
      console.log(
        `  ${c.inputs} inputs, ${rate.toFixed(0)}/s, ${c.ok} ok, ${
          c.inputs - c.ok - c.bugs
        } typed errors, ${c.bugs} bugs`,
      );
    }
  }, 250);
  const onSignal = () => Atomics.store(stop, 0, 1);
  Deno.addSignalListener("SIGINT", onSignal);
  await finished;
  clearInterval(watchdog);
  Deno.removeSignalListener("SIGINT", onSignal);

  const c = sum();
  const elapsed = (performance.now() - started) / 1000;
  const kinds: Record<string, number> = { ...retiredMessages };
  for (const m of messages.values()) {
    for (const [k, v] of Object.entries(m)) kinds[k] = (kinds[k] ?? 0) + v;
  }
  console.log("typed errors by message:");
  for (const [k, v] of Object.entries(kinds).sort((a, b) => b[1] - a[1])) {
    if (k !== "ok" && k !== "bug") {
      console.log(`  ${String(v).padStart(8)}  ${k}`);
    }
  }
  console.log(
    `summary: ${c.inputs} inputs in ${elapsed.toFixed(1)} s (${
      (c.inputs / elapsed).toFixed(0)
    }/s), ok ${c.ok}, EbmlSyntaxError ${c.EbmlSyntaxError}, RangeError ${c.RangeError}, TypeError ${c.TypeError}, bugs ${c.bugs}`,
  );
  return c.bugs > 0 ? 1 : 0;
}

if ((self as { name?: string }).name === WORKER_NAME) {
  workerMain();
} else if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
