// bench/_proc.ts: the waits and the /proc readers that tests and benches share.
import { assert, assertEquals, assertGreater, assertRejects } from "@std/assert";
import {
  clockTicksPerSecond,
  cpuSeconds,
  fdCount,
  rssMiB,
  sleep,
  until,
  untilDefined,
} from "../bench/_proc.ts";

/** The pid of a process that has exited (and been reaped), so /proc has no entry for it. */
async function gonePid(): Promise<number> {
  const child = new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  await child.status;
  return child.pid;
}

Deno.test("clockTicksPerSecond agrees with getconf CLK_TCK", async () => {
  const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
  assertEquals(clockTicksPerSecond(), Number(new TextDecoder().decode(out.stdout).trim()));
});

Deno.test("cpuSeconds counts this process's CPU time, in seconds", () => {
  const before = cpuSeconds(Deno.pid);
  const wall = performance.now();
  let x = 0;
  while (performance.now() - wall < 300) x += Math.sqrt(x + 1);
  const spent = cpuSeconds(Deno.pid) - before;
  assert(x > 0);
  // 0.3 s of busy wall time: at least a tick of CPU, and not the 10x a wrong tick rate gives.
  assertGreater(spent, 0);
  assert(spent < 3, `${spent} CPU seconds in 0.3 s of wall time`);
});

Deno.test("rssMiB reads a live process's resident memory", () => {
  const rss = rssMiB(Deno.pid);
  assert(rss > 1 && rss < 100_000, `rss ${rss} MiB`);
});

Deno.test("fdCount counts a process's open descriptors", async () => {
  // Two `sleep`s, one started with three more descriptors open. Not this process: with
  // --parallel, the other test files run in it and open and close descriptors meanwhile.
  const spawn = (script: string) =>
    new Deno.Command("sh", { args: ["-c", script], stdin: "null", stdout: "null", stderr: "null" })
      .spawn();
  const plain = spawn("exec sleep 30");
  const more = spawn("exec 7</dev/null 8</dev/null 9</dev/null sleep 30");
  try {
    const sleeping = (pid: number) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/comm`) === "sleep\n";
      } catch {
        return false;
      }
    };
    assert(await until(() => sleeping(plain.pid) && sleeping(more.pid), 5000, { every: 10 }));
    // Under --parallel a child may inherit a descriptor another test had open as it was spawned,
    // so the counts are compared with what /proc lists, not with each other.
    const listed = (pid: number) => [...Deno.readDirSync(`/proc/${pid}/fd`)].map((e) => e.name);
    const moreFds = listed(more.pid);
    assert(["0", "1", "2", "7", "8", "9"].every((fd) => moreFds.includes(fd)), String(moreFds));
    // The table may still change as `sleep` starts (its loader opens and closes libraries after
    // the exec that set its name): a count must agree with a listing taken right after it, at
    // some moment within a second.
    const agrees = async (pid: number) =>
      await until(
        () => {
          const a = fdCount(pid);
          return a === listed(pid).length && fdCount(pid) === a;
        },
        1000,
        { every: 20 },
      );
    assert(await agrees(more.pid), `${fdCount(more.pid)} vs ${listed(more.pid)}`);
    assert(await agrees(plain.pid), `${fdCount(plain.pid)} vs ${listed(plain.pid)}`);
  } finally {
    plain.kill();
    more.kill();
    await Promise.all([plain.status, more.status]);
  }
});

Deno.test("the /proc readers give NaN for a process that is gone", async () => {
  const pid = await gonePid();
  assert(Number.isNaN(rssMiB(pid)));
  assert(Number.isNaN(fdCount(pid)));
  assert(Number.isNaN(cpuSeconds(pid)));
});

Deno.test("until resolves whether the condition held within the timeout", async () => {
  let n = 0;
  assert(await until(() => ++n === 3, 1000, { every: 1 }));
  assertEquals(n, 3);
  const start = performance.now();
  assertEquals(await until(async () => (await sleep(0), false), 50, { every: 10 }), false);
  assert(performance.now() - start >= 50);
});

Deno.test("untilDefined resolves with the first value, or throws naming what it waited for", async () => {
  let n = 0;
  assertEquals(await untilDefined(() => Promise.resolve(++n > 2 ? n : undefined), 1000, "n"), 3);
  await assertRejects(
    () => untilDefined(() => Promise.resolve(undefined), 30, "nothing", { every: 5 }),
    Error,
    "Timed out waiting for nothing",
  );
});

Deno.test("untilDefined throws a check's error at once unless told to retry", async () => {
  let calls = 0;
  const failing = () => {
    calls++;
    return Promise.reject(new Error("unreachable"));
  };
  await assertRejects(() => untilDefined(failing, 1000, "x"), Error, "unreachable");
  assertEquals(calls, 1);
  await assertRejects(
    () => untilDefined(failing, 30, "the host", { every: 5, retryErrors: true }),
    Error,
    "Timed out waiting for the host: Error: unreachable",
  );
  assertGreater(calls, 2);
  let tries = 0;
  const flaky = () => ++tries < 3 ? Promise.reject(new Error("down")) : Promise.resolve("up");
  assertEquals(await untilDefined(flaky, 1000, "x", { every: 1, retryErrors: true }), "up");
});
