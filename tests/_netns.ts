/**
 * Test helpers: network namespaces as hosts. A `Topology` makes namespaces joined by veth pairs
 * (private addresses, `lo` up in each), runs processes inside them with `ip netns exec`, and
 * removes every process, namespace and veth it made when disposed. Needs root and iproute2;
 * `netnsSupport()` says why not when they are missing.
 *
 * Names carry this process's PID (`mkr<pid>…`), so parallel runs never collide, and namespaces
 * left by a run that was killed (its PID gone) are removed by the next one.
 *
 * @module
 */

import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ROOT } from "./_cli.ts";

/** Why network namespaces cannot be made here (undefined: they can). */
export async function netnsSupport(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return `network namespaces need Linux (this is ${Deno.build.os})`;
  if (Deno.uid() !== 0) return `network namespaces need root (uid is ${Deno.uid()})`;
  let probe;
  try {
    probe = await sh("ip", ["-V"]);
  } catch {
    return "`ip` (iproute2) is not installed";
  }
  if (probe.code !== 0) return "`ip -V` failed";
  const name = `mkr${Deno.pid}probe`;
  const add = await sh("ip", ["netns", "add", name]);
  if (add.code !== 0) return `\`ip netns add\` failed: ${add.stderr.trim()}`;
  await sh("ip", ["netns", "del", name]);
  return undefined;
}

/** The result of a short command. */
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short command (killed after `timeout` ms) and returns its output. */
export async function sh(
  command: string,
  args: readonly string[],
  timeout = 15_000,
): Promise<ShResult> {
  const child = new Deno.Command(command, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeout);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `ip args`; throws with its stderr when it fails. */
export async function ip(...args: string[]): Promise<string> {
  const r = await sh("ip", args);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** One end of a veth pair: the namespace, the interface and its address (without prefix). */
export interface LinkEnd {
  ns: string;
  dev: string;
  addr: string;
}

/** A process in a namespace, its stderr read line by line (see `CliServer` in `_cli.ts`). */
export class NsProcess {
  readonly child: Deno.ChildProcess;
  readonly label: string;
  readonly lines: string[] = [];
  /** When each line came (performance.now()). */
  readonly times: number[] = [];
  #waiters = new Set<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }>();
  #stderrDone: Promise<void>;
  #status: Promise<Deno.CommandStatus>;
  #exited = false;

  /** Runs `command args` in namespace `ns` (undefined: in this process's own). */
  constructor(ns: string | undefined, label: string, command: string, args: readonly string[]) {
    this.label = label;
    const argv = ns === undefined ? [...args] : ["netns", "exec", ns, command, ...args];
    this.child = new Deno.Command(ns === undefined ? command : "ip", {
      args: argv,
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.#status = this.child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#stderrDone = this.#read();
  }

  get pid(): number {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  get log(): string {
    return this.lines.join("\n");
  }

  /** The first line (logged or to come) matching `pattern`; rejects after `timeout` ms. */
  waitForLine(pattern: RegExp, timeout = 15_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(pattern);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.#waiters.delete(waiter);
        reject(new Error(`${this.label} ${why} ${pattern}; its log:\n${this.log}`));
      };
      const timer = setTimeout(() => fail(`did not log within ${timeout} ms`), timeout);
      const waiter = {
        pattern,
        resolve: (m: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.#waiters.add(waiter);
      this.#stderrDone.then(() => {
        if (this.#waiters.has(waiter)) {
          clearTimeout(timer);
          fail("exited without logging");
        }
      });
    });
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#exited) return;
    try {
      this.child.kill(signal);
    } catch { /* exited */ }
  }

  /** Waits for the exit (SIGKILL after `timeout` ms) and the end of stderr. */
  async exit(timeout = 10_000): Promise<number> {
    const timer = setTimeout(() => this.kill("SIGKILL"), timeout);
    try {
      const status = await this.#status;
      await this.#stderrDone;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  async #read(): Promise<void> {
    let pending = "";
    const add = (line: string) => {
      this.lines.push(line);
      this.times.push(performance.now());
      for (const w of this.#waiters) {
        const m = line.match(w.pattern);
        if (m) {
          this.#waiters.delete(w);
          w.resolve(m);
        }
      }
    };
    try {
      for await (const text of this.child.stderr.pipeThrough(new TextDecoderStream())) {
        pending += text;
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          add(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    } catch { /* killed */ }
    if (pending) add(pending);
  }
}

/** The command line of mkserver from source (`deno run -A main.ts args`; cwd: the root). */
export function mkserverArgs(args: readonly string[]): string[] {
  return ["run", "--quiet", "-A", "main.ts", ...args];
}

/** A running mkserver in a namespace. */
export class NsServer extends NsProcess {
  /** Runs mkserver with `args` in namespace `ns` (undefined: in this process's own). */
  static start(ns: string | undefined, label: string, args: readonly string[]): NsServer {
    return new NsServer(ns, label, Deno.execPath(), mkserverArgs(args));
  }

  /** Resolves with the port once it logged "Serving … at http://HOST:PORT/stream". */
  async ready(timeout = 20_000): Promise<number> {
    const m = await this.waitForLine(
      / INFO Serving .* at https?:\/\/\S+?:(\d+)\/(stream|live\/NAME)\b/,
      timeout,
    );
    return Number(m[1]);
  }
}

/**
 * Namespaces joined by veth pairs. Create with `Topology.create`, dispose with `await using`:
 * every process started through it is stopped (SIGTERM, then SIGKILL), anything else still in
 * its namespaces is killed by PID, and the namespaces (with their veths) are deleted.
 */
export class Topology implements AsyncDisposable {
  readonly prefix: string;
  readonly namespaces: string[] = [];
  readonly processes: NsProcess[] = [];
  #links = 0;

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Makes one namespace per name (with `lo` up); `ns(name)` gives its full name. */
  static async create(names: readonly string[]): Promise<Topology> {
    await removeStale();
    const topo = new Topology(`mkr${Deno.pid}`);
    try {
      for (const name of names) {
        const ns = topo.ns(name);
        await ip("netns", "add", ns);
        topo.namespaces.push(ns);
        await ip("-n", ns, "link", "set", "lo", "up");
      }
    } catch (error) {
      await topo[Symbol.asyncDispose]();
      throw error;
    }
    return topo;
  }

  /** The full name of namespace `name`. */
  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /**
   * Joins namespaces `a` and `b` with a veth pair, addresses `addrA` and `addrB` (same /24),
   * both up. Returns the two ends.
   */
  async link(a: string, addrA: string, b: string, addrB: string): Promise<[LinkEnd, LinkEnd]> {
    const n = this.#links++;
    // Interface names are at most 15 bytes; they live inside our namespaces only.
    const devA = `v${n}a-${a}`.slice(0, 15);
    const devB = `v${n}b-${b}`.slice(0, 15);
    const nsA = this.ns(a), nsB = this.ns(b);
    await ip("link", "add", devA, "netns", nsA, "type", "veth", "peer", "name", devB, "netns", nsB);
    await ip("-n", nsA, "addr", "add", `${addrA}/24`, "dev", devA);
    await ip("-n", nsB, "addr", "add", `${addrB}/24`, "dev", devB);
    await ip("-n", nsA, "link", "set", devA, "up");
    await ip("-n", nsB, "link", "set", devB, "up");
    return [{ ns: nsA, dev: devA, addr: addrA }, { ns: nsB, dev: devB, addr: addrB }];
  }

  /** Brings one end of a link down or up. */
  async setLink(end: LinkEnd, up: boolean): Promise<void> {
    await ip("-n", end.ns, "link", "set", end.dev, up ? "up" : "down");
  }

  /** Runs `command args` in namespace `name` (cwd: the repository root). */
  spawn(name: string, label: string, command: string, args: readonly string[]): NsProcess {
    const p = new NsProcess(this.ns(name), label, command, args);
    this.processes.push(p);
    return p;
  }

  /** Runs `deno run -A main.ts args` in namespace `name`. */
  server(name: string, args: readonly string[]): NsServer {
    const p = NsServer.start(this.ns(name), name, args);
    this.processes.push(p);
    return p;
  }

  /** Runs a short command in namespace `name` to completion. */
  exec(name: string, command: string, args: readonly string[], timeout = 15_000) {
    return sh("ip", ["netns", "exec", this.ns(name), command, ...args], timeout);
  }

  /** GETs `url` with curl inside namespace `name` and parses the JSON answer. */
  async json(name: string, url: string): Promise<unknown> {
    const r = await this.exec(name, "curl", ["-sf", "--max-time", "5", url]);
    if (r.code !== 0) throw new Error(`curl ${url} in ${name} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const p of this.processes) p.kill("SIGTERM");
    await Promise.all(this.processes.map((p) => p.exit(5000).catch(() => {})));
    for (const ns of this.namespaces) await killAllIn(ns);
    for (const ns of this.namespaces) await sh("ip", ["netns", "del", ns]);
    const left = (await sh("ip", ["netns", "list"])).stdout;
    for (const ns of this.namespaces) {
      if (new RegExp(`^${ns}\\b`, "m").test(left)) {
        console.error(`warning: namespace ${ns} could not be deleted`);
      }
    }
  }
}

/** Kills (SIGKILL, by PID) whatever still runs in namespace `ns`: only our own processes. */
async function killAllIn(ns: string): Promise<void> {
  const pids = (await sh("ip", ["netns", "pids", ns])).stdout.split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      Deno.kill(Number(pid), "SIGKILL");
    } catch { /* gone */ }
  }
}

/** Deletes namespaces `mkr<pid>-…` whose run (`pid`) is no longer alive. */
async function removeStale(): Promise<void> {
  const list = (await sh("ip", ["netns", "list"])).stdout;
  for (const m of list.matchAll(/^(mkr(\d+)-\S+)/gm)) {
    const pid = Number(m[2]);
    if (pid === Deno.pid || alive(pid)) continue;
    await killAllIn(m[1]);
    await sh("ip", ["netns", "del", m[1]]);
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The end offset of the last whole Cluster in `bytes` (0 when none), for cut captures. */
export function lastClusterEnd(bytes: Uint8Array): number {
  let end = 0;
  const reader = new EbmlReader();
  try {
    reader.push(bytes, (e) => {
      if (e.type === "end" && e.id === 0x1F43B675) end = e.offset;
    });
  } catch { /* a cut stream */ }
  return end;
}

/** How many EBML headers (0x1A45DFA3) `bytes` holds at any level. */
export function countEbmlHeaders(bytes: Uint8Array): number {
  let n = 0;
  const reader = new EbmlReader();
  try {
    reader.push(bytes, (e) => {
      if (e.type !== "end" && e.id === 0x1A45DFA3) n++;
    });
  } catch { /* a cut stream */ }
  return n;
}
