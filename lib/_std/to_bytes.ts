// Typed shim: the npm build of std ships plain .js without types.
// @ts-types="./to_bytes.d.ts"
export { toBytes } from "npm:deno-std@1.4.0/streams/to_bytes.js";
