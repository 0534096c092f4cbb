/** Reads a whole byte stream into one array (see @std/streams). */
export function toBytes(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array<ArrayBuffer>>;
