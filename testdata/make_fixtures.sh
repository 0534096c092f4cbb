#!/usr/bin/env bash
# make_fixtures.sh — regenerate the small Matroska/WebM test fixtures for
# mkserver.  Run from anywhere:  bash testdata/make_fixtures.sh
# Output goes into the directory this script lives in.
#
# Requirements: ffmpeg (5.1, with libvpx, libopus, libx264, native aac),
# ffprobe, mkvmerge (mkvtoolnix >= 74), python3 (stdlib only).
# All sources are synthetic: lavfi `testsrc2` (video) and `sine` (audio).
# Encoders run single-threaded with bitexact flags, mkvmerge with
# --deterministic/--no-date, so reruns with the same tool versions should
# give byte-identical files.
#
# Files produced (see README.md for what each one tests):
#   sample.webm           VP8 (200 kb/s) + Opus (stereo 48 kHz, 48 kb/s),
#                         320x240, 25 fps, 10 s, keyframe every 50 frames
#                         (2 s).  ffmpeg's WebM muxer: 5 Clusters, each one
#                         opening with an Opus block ~6 ms before the video
#                         keyframe.  The bundled sample the server plays.
#   h264_aac.mkv          H.264 (libx264 veryfast, High, 2 B-frames, GOP 50,
#                         closed GOP, no scene-cut keyframes, 150 kb/s) +
#                         AAC-LC (stereo 48 kHz, 64 kb/s), 320x240, 25 fps,
#                         6 s.  ffmpeg's Matroska muxer (SimpleBlocks only).
#   h264_blockgroups.mkv  h264_aac.mkv remuxed by
#                         `mkvmerge --engage no_simpleblocks`: every frame is
#                         in a BlockGroup, there are no SimpleBlocks.  (mkvmerge
#                         default: AAC is Xiph-laced, up to 8 frames/Block.)
#   midgop_clusters.mkv   h264_aac.mkv remuxed by
#                         `mkvmerge --cluster-length 300ms`: 21 Clusters, 18 of
#                         which start on a non-keyframe (mid-GOP).  AAC laced.
#   unknown_size.webm     VP8 (120 kb/s) + Opus as sample.webm, but 6 s long
#                         (3 Clusters); the Segment and every Cluster size are
#                         rewritten in place to the EBML "unknown size" value
#                         of the same width by unknown_size.py (Segment: 8
#                         bytes, Clusters: 3 bytes).  Cues/SeekHead kept and
#                         still valid since no byte moves.
#   audio_only.webm       Opus only (sine 440 Hz, mono 48 kHz, 48 kb/s), 5 s.
#   truncated.webm        The first ~55 % of sample.webm, cut by byte count in
#                         the middle of a SimpleBlock's frame payload inside
#                         the 3rd of 5 Clusters (not on any element boundary).
#   long_gop.webm         VP8 (40 kb/s target) + Opus (mono, 32 kb/s),
#                         160x120, 25 fps, 12 s, exactly ONE video keyframe
#                         (the first frame).  ffmpeg's 5 s cluster time limit
#                         makes Clusters 2 and 3 start on non-keyframes.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

FF=(ffmpeg -hide_banner -loglevel error -nostdin -y)
# Output-side determinism flags (bitexact muxing/encoding, no metadata).
BITEXACT=(-fflags +bitexact -flags +bitexact -map_metadata -1 -map_chapters -1)
# lavfi streams carry no "default" disposition; mark them so FlagDefault=1
# like in files from real muxers.
DEFAULT_AV=(-disposition:v:0 default -disposition:a:0 default)
MKVMERGE=(mkvmerge --quiet --deterministic 1 --no-date)

# lavfi inputs: video WxH, fps, duration; audio freq (Hz), duration
video_in() { echo "testsrc2=size=$1:rate=$2:duration=$3"; }
audio_in() { echo "sine=frequency=$1:sample_rate=48000:duration=$2"; }

# VP8: fixed GOP, no alt-ref/lag so every packet is a shown frame.
VP8_OPTS=(-c:v libvpx -deadline good -cpu-used 4 -threads 1
          -auto-alt-ref 0 -lag-in-frames 0 -pix_fmt yuv420p)
OPUS_OPTS=(-c:a libopus -b:a 48k -ar 48000)

echo "== sample.webm"
"${FF[@]}" -f lavfi -i "$(video_in 320x240 25 10)" -f lavfi -i "$(audio_in 440 10)" \
  -map 0:v -map 1:a "${VP8_OPTS[@]}" -b:v 200k -g 50 -keyint_min 50 \
  "${OPUS_OPTS[@]}" -ac 2 "${DEFAULT_AV[@]}" "${BITEXACT[@]}" -f webm "$DIR/sample.webm"

echo "== h264_aac.mkv"
"${FF[@]}" -f lavfi -i "$(video_in 320x240 25 6)" -f lavfi -i "$(audio_in 440 6)" \
  -map 0:v -map 1:a \
  -c:v libx264 -preset veryfast -threads 1 -pix_fmt yuv420p -profile:v high \
  -bf 2 -g 50 -keyint_min 50 -sc_threshold 0 -b:v 150k \
  -c:a aac -b:a 64k -ac 2 -ar 48000 \
  "${DEFAULT_AV[@]}" "${BITEXACT[@]}" -f matroska "$DIR/h264_aac.mkv"

echo "== h264_blockgroups.mkv"
"${MKVMERGE[@]}" --engage no_simpleblocks -o "$DIR/h264_blockgroups.mkv" "$DIR/h264_aac.mkv"

echo "== midgop_clusters.mkv"
"${MKVMERGE[@]}" --cluster-length 300ms -o "$DIR/midgop_clusters.mkv" "$DIR/h264_aac.mkv"

echo "== unknown_size.webm"
"${FF[@]}" -f lavfi -i "$(video_in 320x240 25 6)" -f lavfi -i "$(audio_in 440 6)" \
  -map 0:v -map 1:a "${VP8_OPTS[@]}" -b:v 120k -g 50 -keyint_min 50 \
  "${OPUS_OPTS[@]}" -ac 2 "${DEFAULT_AV[@]}" "${BITEXACT[@]}" -f webm "$TMP/known_size.webm"
python3 "$DIR/unknown_size.py" "$TMP/known_size.webm" "$DIR/unknown_size.webm"

echo "== audio_only.webm"
"${FF[@]}" -f lavfi -i "$(audio_in 440 5)" \
  "${OPUS_OPTS[@]}" -ac 1 -disposition:a:0 default "${BITEXACT[@]}" -f webm "$DIR/audio_only.webm"

echo "== truncated.webm"
# Pick a cut offset: the SimpleBlock whose bytes contain 55 % of the file size
# (or the next one), cut halfway through its frame payload.  Refuse cuts in
# the first or last Cluster.
CUT="$(python3 - "$DIR/sample.webm" <<'PY'
import sys
buf = open(sys.argv[1], "rb").read()
def vint(pos, is_id):
    first = buf[pos]; w = 1; m = 0x80
    while not (first & m):
        m >>= 1; w += 1
    v = int.from_bytes(buf[pos:pos + w], "big")
    return (v if is_id else v & ((1 << (7 * w)) - 1)), w
def children(start, end):
    pos = start
    while pos < end:
        eid, iw = vint(pos, True); size, sw = vint(pos + iw, False)
        data = pos + iw + sw
        yield eid, pos, data, data + size
        pos = data + size
top = list(children(0, len(buf)))
seg = [t for t in top if t[0] == 0x18538067][0]
clusters = [c for c in children(seg[2], seg[3]) if c[0] == 0x1F43B675]
target = int(len(buf) * 0.55)
for ci, (_, cstart, cdata, cend) in enumerate(clusters):
    for eid, start, data, end in children(cdata, cend):
        if eid != 0xA3 or end <= target:
            continue
        if ci == 0 or ci == len(clusters) - 1:
            sys.exit("cut would land in first/last cluster")
        payload = data + 4            # track vint(1) + timecode(2) + flags(1)
        if end - payload < 16:
            continue                  # too small to cut cleanly in the middle
        print((payload + end) // 2)
        sys.exit(0)
sys.exit("no suitable SimpleBlock found")
PY
)"
head -c "$CUT" "$DIR/sample.webm" > "$DIR/truncated.webm"
echo "   cut sample.webm at byte $CUT of $(stat -c %s "$DIR/sample.webm")"

echo "== long_gop.webm"
"${FF[@]}" -f lavfi -i "$(video_in 160x120 25 12)" -f lavfi -i "$(audio_in 440 12)" \
  -map 0:v -map 1:a "${VP8_OPTS[@]}" -b:v 40k -g 1000 -keyint_min 1000 \
  "${OPUS_OPTS[@]}" -b:a 32k -ac 1 "${DEFAULT_AV[@]}" "${BITEXACT[@]}" -f webm "$DIR/long_gop.webm"

echo "== verifying"
fail() { echo "VERIFY FAILED: $*" >&2; exit 1; }
for f in sample.webm h264_aac.mkv h264_blockgroups.mkv midgop_clusters.mkv \
         unknown_size.webm audio_only.webm long_gop.webm; do
  # Full demux+decode must be clean (truncated.webm is expected to complain).
  err="$(ffmpeg -nostdin -v error -i "$DIR/$f" -f null - 2>&1)" || fail "$f: ffmpeg decode failed"
  [[ -z "$err" ]] || fail "$f: ffmpeg reported: $err"
  mkvinfo "$DIR/$f" >/dev/null || fail "$f: mkvinfo failed"
done
keyframes() {  # number of video keyframes
  ffprobe -v error -select_streams v:0 -skip_frame nokey \
    -show_entries frame=pict_type -of csv=p=0 "$1" | grep -c .
}
[[ "$(keyframes "$DIR/sample.webm")" == 5 ]] || fail "sample.webm: expected 5 keyframes"
[[ "$(keyframes "$DIR/h264_aac.mkv")" == 3 ]] || fail "h264_aac.mkv: expected 3 keyframes"
[[ "$(keyframes "$DIR/long_gop.webm")" == 1 ]] || fail "long_gop.webm: expected 1 keyframe"
bg="$(mkvinfo --all "$DIR/h264_blockgroups.mkv" | grep -c 'Block group' || true)"
sb="$(mkvinfo --all "$DIR/h264_blockgroups.mkv" | grep -c 'Simple block' || true)"
[[ "$bg" -gt 0 && "$sb" == 0 ]] || fail "h264_blockgroups.mkv: $bg BlockGroups, $sb SimpleBlocks"
nc="$(mkvinfo --all "$DIR/midgop_clusters.mkv" | grep -c '^|+ Cluster' || true)"
[[ "$nc" -gt 3 ]] || fail "midgop_clusters.mkv: only $nc clusters"
unk="$(mkvinfo --all --size "$DIR/unknown_size.webm" | grep -cE '^\|?\+ (Segment|Cluster).*size is unknown' || true)"
[[ "$unk" == 4 ]] || fail "unknown_size.webm: expected Segment + 3 Clusters of unknown size, got $unk"

echo "== done"
ls -l "$DIR"/*.webm "$DIR"/*.mkv
