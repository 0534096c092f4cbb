// The parser fuzz batch for CI (the long runs are `deno task fuzz`): fixed seeds, zero bugs.
import { assert, assertEquals } from "@std/assert";
import {
  classify,
  type CorpusEntry,
  makeCorpus,
  makeInput,
  runOne,
} from "../bench/fuzz_harness.ts";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { readMediaFiles, TESTDATA } from "./_util.ts";

const CRASHES = new URL("fuzz/", TESTDATA);

/** Saved inputs: files in testdata/fuzz/ other than its README. */
async function savedInputs(): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(CRASHES)) {
      if (entry.isFile && entry.name.endsWith(".bin")) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

const corpus: CorpusEntry[] = makeCorpus(await readMediaFiles());

/** Runs inputs `first` to `first + count - 1`; returns the bugs as readable lines. */
function batch(first: number, count: number): string[] {
  const bugs: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const input = makeInput(corpus, seed);
    const result = runOne(input.bytes, seed);
    if (result.kind === "bug") {
      bugs.push(`seed ${seed} [${input.description}]: ${result.reason}`);
    }
  }
  return bugs;
}

// 4 × 2000 inputs: about 4 s. Seeds far apart, so each batch draws different mutations.
for (const first of [1, 1_000_000, 2_000_000, 3_000_000]) {
  Deno.test(`runOne finds no bug in 2000 mutated fixtures from seed ${first}`, () => {
    assertEquals(batch(first, 2000), []);
  });
}

Deno.test("runOne replays every saved input in testdata/fuzz/ without a bug", async () => {
  for (const name of await savedInputs()) {
    const bytes = await Deno.readFile(new URL(name, CRASHES));
    // crash-<seed>.bin is replayed with the chunking it failed with, and everything else too.
    const seed = Number(/^crash-(\d+)\.bin$/.exec(name)?.[1] ?? 0);
    for (const s of [seed, 1, 2, 3]) {
      const result = runOne(bytes, s);
      assert(
        result.kind !== "bug",
        `${name} (chunk seed ${s}): ${result.kind === "bug" ? result.reason : ""}`,
      );
    }
  }
});

Deno.test("runOne passes the unmutated fixtures with no error", () => {
  for (const { name, bytes } of corpus) {
    const result = runOne(bytes, 7);
    if (name === "truncated.webm") {
      assertEquals(result.kind, "typed", name);
    } else {
      assertEquals(result.kind, "ok", `${name}: ${JSON.stringify(result)}`);
    }
  }
});

Deno.test("classify accepts only the documented errors", () => {
  assertEquals(classify(new EbmlSyntaxError("Bad", 3), 10).kind, "typed");
  assertEquals(classify(new EbmlSyntaxError("Bad", 11), 10).kind, "bug");
  assertEquals(
    classify(
      new RangeError("Vint value too large: exceeds 2^53 - 1 at byte 4"),
      10,
    ).kind,
    "typed",
  );
  assertEquals(
    classify(new TypeError("New segment changes the tracks: was 1, now 2"), 10)
      .kind,
    "typed",
  );
  assertEquals(
    classify(new RangeError("Cannot encode vint: -1"), 10).kind,
    "bug",
  );
  assertEquals(
    classify(new TypeError("Cannot read properties of undefined"), 10).kind,
    "bug",
  );
  assertEquals(classify(new Error("Invariant failed: x"), 10).kind, "bug");
});

Deno.test("makeInput gives the same bytes for the same seed", () => {
  for (const seed of [5, 6, 7]) {
    assertEquals(makeInput(corpus, seed), makeInput(corpus, seed));
  }
});
