// Typed shim: the npm build of std ships plain .js without types.
// @ts-types="./assert.d.ts"
export * from "npm:deno-std@1.4.0/assert/mod.js";
