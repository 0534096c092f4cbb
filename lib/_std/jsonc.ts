// Typed shim: the npm build of std ships plain .js without types.
// @ts-types="./jsonc.d.ts"
export { parse } from "npm:deno-std@1.4.0/jsonc/parse.js";
export type { JsonValue } from "./jsonc.d.ts";
