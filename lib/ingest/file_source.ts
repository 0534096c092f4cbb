/**
 * Reading a file (optionally forever) or standard input as a byte stream.
 *
 * @module
 */

/** Options of `openFileSource`. */
export interface FileSourceOptions {
  /** Replay the file forever; the demuxer keeps timestamps increasing across loops. */
  loop?: boolean;
}

/**
 * Opens `path` and returns its bytes as a stream (read again from the start at the end, with
 * `loop`). The file is opened before this returns, so a bad path fails here with Deno's
 * `NotFound` / `PermissionDenied`, and a directory with `TypeError`.
 */
export async function openFileSource(
  path: string,
  options: FileSourceOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const first = await Deno.open(path, { read: true });
  const info = await first.stat();
  if (!info.isFile) {
    first.close();
    throw new TypeError(`Not a regular file: ${path}`);
  }
  if (!options.loop) return first.readable;
  let file: Deno.FsFile | undefined = first;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let emptyPasses = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        file ??= await Deno.open(path, { read: true });
        reader ??= file.readable.getReader();
        const { value, done } = await reader.read();
        if (!done) {
          emptyPasses = 0;
          controller.enqueue(value);
          return;
        }
        reader = undefined;
        file = undefined; // the readable closed the file at its end
        if (++emptyPasses > 1) {
          controller.close(); // an empty file would loop forever
          return;
        }
      }
    },
    async cancel(reason) {
      await reader?.cancel(reason);
    },
  });
}
