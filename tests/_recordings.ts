/**
 * Test helpers for recordings: the real tools' verdicts on a file, and its blocks on the wall
 * clock (DateUTC plus timestamp).
 *
 * @module
 */

import { readRecordingInfo } from "../lib/matroska/recording_scan.ts";
import { fileSource } from "../lib/record/file_source.ts";
import { demux } from "./_util.ts";

/** Runs a tool to completion; its exit code and everything it printed. */
export async function tool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
    .output();
  const text = new TextDecoder();
  return { code: o.code, out: text.decode(o.stdout) + text.decode(o.stderr) };
}

/** What `mkvinfo -a` says of a file: exit code, its text, Cue points, Duration (s). */
export async function mkvinfo(path: string) {
  const r = await tool("mkvinfo", ["-a", path]);
  const d = /\+ Duration: (\d+):(\d+):([\d.]+)/.exec(r.out);
  return {
    ...r,
    cues: r.out.match(/\+ Cue point/g)?.length ?? 0,
    duration: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : undefined,
    segmentUnknown: /Segment: size unknown/.test(r.out),
  };
}

/** `ffmpeg -v error [-ss S] -i FILE -f null -`: exit code and complaints. */
export function decode(path: string, seek?: number): Promise<{ code: number; out: string }> {
  const ss = seek === undefined ? [] : ["-ss", String(seek)];
  return tool("ffmpeg", ["-nostdin", "-v", "error", ...ss, "-i", path, "-f", "null", "-"]);
}

/** Every block of a recording: track, timestamp (ms), keyframe. */
export async function fileBlocks(path: string) {
  const { blocks } = demux(await Deno.readFile(path));
  return blocks.map((b) => ({ track: b.track, time: b.time, keyframe: b.keyframe }));
}

/** The head's verdict: finished, Duration (ms), DateUTC (ms). */
export async function headInfo(path: string) {
  const file = await Deno.open(path);
  try {
    return await readRecordingInfo(fileSource(file, (await file.stat()).size));
  } finally {
    file.close();
  }
}
