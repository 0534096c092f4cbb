// Typed shim: the npm build of std ships plain .js without types.
// @ts-types="./parse_args.d.ts"
export { parseArgs } from "npm:deno-std@1.4.0/cli/parse_args.js";
export type { Args, ParseOptions } from "./parse_args.d.ts";
