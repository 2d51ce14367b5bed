#!/usr/bin/env bash
# Speed and memory benchmark of the `leitmotif` binary on about an hour of mixed-format audio.
#
# Usage: scripts/bench_speed.sh [STEP...]      steps: corpus chroma decode pairs long analyze warm cues
#                                              library (not in the default list: it generates 22 hours)
#                                              (default: all of them, in that order)
# Environment:
#   BENCH_DIR   work folder, outside the repository (default /tmp/leitmotif-speed); generated
#               audio is kept there and reused by later runs, delete it to start afresh
#   AUDIO_DIR   the real recordings to loop (default ../shared/audio, 7 OGG files, ~8.4 min)
#   REPEAT      runs per measurement; the median wall time is reported (default 3)
#
# What it measures (each timed with /usr/bin/time: wall, user+sys CPU, peak RSS):
#   corpus   builds hour/: the recordings concatenated and looped, cut into 15 files of 4 min
#            (3 each as mp3, flac, ogg, m4a, wav; 44.1 kHz stereo) = 60 min of audio
#   chroma   `chroma --no-cache --format npy` over the hour: wall, CPU, speed x real time
#   decode   the decode-only floor: `chroma --decode-only` over the hour (median of REPEAT
#            runs) and its ratio to the chroma step's median (target <= 1.3x); then
#            `ffmpeg -threads 1 ... -f null -` per format for context. `cargo bench --bench
#            decode` measures decode-only vs decode+chroma per format, one minute each.
#   pairs    the same ratio measured robustly on a shared machine: REPEAT pairs of runs, each a
#            decode-only run immediately followed by a chroma run, so both see the same load;
#            reports the median of the per-pair ratios (use REPEAT=9 or more)
#   long     peak memory of `chroma` on one 2-hour FLAC file (target < 150 MB)
#   analyze  `analyze --no-cache` of a 40-track generated score (seed 21, ~54 min) and of a
#            ~2-hour collection (seed 21 + seed 22 scores of 40 tracks each + the recordings);
#            target < 30 s for 2 h
#   warm     the 2-hour set again: once filling an empty cache, then with the cache warm (same
#            threshold; then --threshold 0.6, 0.65, 0.7..., one new threshold per run), as
#            ratios to the no-cache run (needs analyze)
#   cues     `cues --no-cache` of one 60-minute episode against the 40 tracks (target < 20 s),
#            with peak memory, and its cue score for reference; then the same with the tracks'
#            features and landmark index cached (filled by one run first; target < 3 s)
#   realset  builds real2h/: the recordings looped and cut into 40 files of 3 min (8 each as mp3,
#            flac, ogg, m4a, wav; much repeated material) = 2 hours, then `analyze --no-cache`
#            of it (target < 15 s), and with a cache: filled once, then a stricter and a looser
#            threshold (target < 2 s each)
#   library  the same episode against 1,000 tracks (the 40 of seed 21 and 24 more 40-track scores,
#            seeds 2001-2024, FLAC/OGG/MP3, about 22.9 hours; generating them takes about an hour):
#            once with an empty cache (decoding and indexing everything), then REPEAT runs with
#            the tracks' features and landmark index cached (target < 10 s, < 300 MB); the size
#            of the index on disk
# Results: one line per run in $BENCH_DIR/runs.tsv, a summary on standard output.
# Needs: python3 (numpy, scipy, soundfile, music21 for scripts/gen_score.py), ffmpeg, flac,
# GNU time (/usr/bin/time; `apt-get install -y time`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
work=${BENCH_DIR:-/tmp/leitmotif-speed}
audio=${AUDIO_DIR:-../shared/audio}
repeat=${REPEAT:-3}
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
case "$work/" in "$repo"/*) echo "BENCH_DIR must be outside the repository: $work" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(corpus chroma decode pairs long analyze warm cues)

cargo build --release --quiet
# A private copy: other builds of target/release must not change the binary between runs.
mkdir -p "$work/bin"
cp target/release/leitmotif "$work/bin/leitmotif"
bin="$work/bin/leitmotif"
runs="$work/runs.tsv"
rev="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo +dirty)"
echo "# leitmotif speed benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $rev, $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# timed LABEL CMD...: runs CMD once under /usr/bin/time, appends "LABEL wall user sys rss_kb" to
# runs.tsv and keeps the command's standard error in $work/logs/LABEL.N.err.
timed() {
  local label=$1; shift
  mkdir -p "$work/logs"
  local n=0
  while [ -e "$work/logs/$label.$n.err" ]; do n=$((n + 1)); done
  local err="$work/logs/$label.$n.err" tf="$work/logs/$label.$n.time"
  if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$work/logs/$label.$n.out" 2>"$err"; then
    echo "warning: $label run $n failed; see $err" >&2
    tail -3 "$err" >&2
  fi
  printf '%s\t%s\n' "$label" "$(tr ' ' '\t' <"$tf")" >>"$runs"
}

# repeat_timed LABEL CMD...: REPEAT runs (earlier runs under LABEL are forgotten).
repeat_timed() {
  local label=$1
  sed -i "/^$label\t/d" "$runs" 2>/dev/null || true
  rm -f "$work/logs/$label".*
  for _ in $(seq "$repeat"); do timed "$@"; done
}

# summary LABEL [AUDIO_S]: median wall, CPU of that run, max peak RSS over runs, speed.
summary() {
  python3 - "$runs" "$1" "${2:-0}" <<'EOF'
import sys, statistics
rows = [l.split("\t") for l in open(sys.argv[1]) if l.split("\t")[0] == sys.argv[2]]
rows = [(float(w), float(u), float(s), int(m)) for _, w, u, s, m in rows]
walls = sorted(r[0] for r in rows)
med = statistics.median_low(walls)
w, u, s, m = next(r for r in rows if r[0] == med)
audio = float(sys.argv[3])
speed = f", {audio / med:.1f}x real time" if audio > 0 else ""
print(f"{sys.argv[2]}: median wall {med:.2f} s of {len(rows)} (runs: {', '.join(f'{x:.2f}' for x in walls)}); "
      f"CPU {u + s:.2f} s ({100 * (u + s) / med:.0f}%); peak RSS {max(r[3] for r in rows) / 1024:.1f} MB{speed}")
EOF
}

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# The recordings concatenated once (base.wav) and three times (base3.wav), 44.1 kHz stereo.
make_base() {
  [ -f "$work/base3.wav" ] && return
  local inputs=() maps="" n=0
  for f in "$audio"/*.ogg; do inputs+=(-i "$f"); maps+="[$n:a:0]"; n=$((n + 1)); done
  [ "$n" -gt 0 ] || { echo "no .ogg recordings in $audio" >&2; exit 2; }
  ff "${inputs[@]}" -filter_complex "${maps}concat=n=$n:v=0:a=1,aresample=44100,aformat=channel_layouts=stereo" \
    -c:a pcm_s16le "$work/base.wav"
  ff -stream_loop 2 -i "$work/base.wav" -c:a pcm_s16le "$work/base3.wav"
}

codec_args() {
  case $1 in
    mp3) echo "-c:a libmp3lame -b:a 192k" ;;
    flac) echo "-c:a flac" ;;
    ogg) echo "-c:a libvorbis -q:a 5" ;;
    m4a) echo "-c:a aac -b:a 192k" ;;
    wav) echo "-c:a pcm_s16le" ;;
  esac
}

# cut_loop DIR NAME COUNT SECONDS STEP: COUNT files DIR/NAMEnn.FORMAT of SECONDS each, cut from the
# looped recordings at offsets STEP seconds apart (wrapping round the loop, so that the files do
# not all start alike), the formats in turn: mp3, flac, ogg, m4a, wav. Files already there are kept.
cut_loop() {
  make_base
  mkdir -p "$work/$1"
  local base_s formats=(mp3 flac ogg m4a wav)
  base_s=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/base.wav")
  for i in $(seq 0 $(($3 - 1))); do
    local fmt=${formats[$((i % 5))]}
    local out; out=$(printf '%s/%s/%s%02d.%s' "$work" "$1" "$2" "$i" "$fmt")
    [ -f "$out" ] && continue
    local off; off=$(python3 -c "print(($i * $5) % int($base_s))")
    # shellcheck disable=SC2046
    ff -ss "$off" -t "$4" -i "$work/base3.wav" $(codec_args "$fmt") "$out"
  done
}

step_corpus() {
  cut_loop hour part 15 240 173
  local total; total=$(for f in "$work"/hour/*; do ffprobe -v error -show_entries format=duration -of csv=p=0 "$f"; done |
    awk '{s += $1} END {printf "%.0f", s}')
  local files=("$work"/hour/*)
  echo "corpus: ${#files[@]} files, $total s of audio ($(du -sh "$work/hour" | cut -f1)) in $work/hour"
}

hour_s() {
  for f in "$work"/hour/*; do ffprobe -v error -show_entries format=duration -of csv=p=0 "$f"; done | awk '{s += $1} END {print s}'
}

step_chroma() {
  rm -rf "$work/chroma-out"
  repeat_timed chroma_hour "$bin" chroma --no-cache --out "$work/chroma-out" --format npy --timings "$work"/hour/*
  summary chroma_hour "$(hour_s)"
  grep -h "^total" "$work"/logs/chroma_hour.*.out || true
}

step_decode() {
  # The decode-only floor: `chroma --decode-only` over the same hour (every file decoded to its
  # end on both cores, nothing computed), against the chroma runs of the chroma step.
  [ -f "$work/logs/chroma_hour.0.out" ] || step_chroma >/dev/null
  repeat_timed decode_hour "$bin" chroma --decode-only --timings "$work"/hour/*
  summary decode_hour "$(hour_s)"
  python3 - "$runs" <<'EOF'
import sys, statistics
rows = [l.split("\t") for l in open(sys.argv[1])]
def med(k):
    v = [float(r[1]) for r in rows if r[0] == k]
    return statistics.median_low(v) if v else float("nan")
chroma, decode = med("chroma_hour"), med("decode_hour")
print(f"decode+chroma / decode-only, median wall over the hour: {chroma:.2f} s / {decode:.2f} s = {chroma / decode:.2f}x (target <= 1.3x)")
EOF
  echo "per format (12 min each): ffmpeg -threads 1 decode, for context"
  for fmt in mp3 flac ogg m4a wav; do
    local t0 t1
    t0=$(date +%s.%N)
    for f in "$work"/hour/*."$fmt"; do ffmpeg -nostdin -v error -threads 1 -i "$f" -f null - ; done
    t1=$(date +%s.%N)
    python3 -c "print(f'  $fmt: ffmpeg decode {$t1 - $t0:.2f} s ({720 / ($t1 - $t0):.0f}x real time)')"
  done
}

step_pairs() {
  sed -i "/^pair_\(decode\|chroma\)\t/d" "$runs" 2>/dev/null || true
  rm -f "$work"/logs/pair_*
  for _ in $(seq "$repeat"); do
    timed pair_decode "$bin" chroma --decode-only "$work"/hour/*
    rm -rf "$work/chroma-out"
    timed pair_chroma "$bin" chroma --no-cache --out "$work/chroma-out" --format npy "$work"/hour/*
  done
  python3 - "$runs" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
decode = [float(r[1]) for r in rows if r[0] == "pair_decode"]
chroma = [float(r[1]) for r in rows if r[0] == "pair_chroma"]
ratios = [c / d for c, d in zip(chroma, decode)]
print("pairs (decode-only s / chroma s / ratio): " + ", ".join(f"{d:.2f}/{c:.2f}/{r:.2f}" for d, c, r in zip(decode, chroma, ratios)))
print(f"decode+chroma / decode-only over the hour, median of {len(ratios)} paired ratios: {statistics.median(ratios):.2f}x "
      f"(medians {statistics.median(chroma):.2f} s / {statistics.median(decode):.2f} s; target <= 1.3x)")
EOF
}

step_long() {
  make_base
  if [ ! -f "$work/two_hours.flac" ]; then
    ff -stream_loop -1 -i "$work/base.wav" -t 7200 -c:a flac "$work/two_hours.flac"
  fi
  echo "long: $work/two_hours.flac, $(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/two_hours.flac") s, $(du -h "$work/two_hours.flac" | cut -f1)"
  rm -rf "$work/long-out"
  repeat_timed chroma_2h "$bin" chroma --no-cache --out "$work/long-out" --format npy --timings "$work/two_hours.flac"
  summary chroma_2h 7200
  grep -h "^total" "$work"/logs/chroma_2h.*.out || true
}

gen_score() {  # gen_score SEED TRACKS DIR
  [ -f "$3/truth.json" ] || python3 scripts/gen_score.py score --seed "$1" --tracks "$2" --out "$3" >/dev/null
}

dir_s() {
  python3 - "$@" <<'EOF'
import sys, subprocess, pathlib
exts = {".wav", ".flac", ".mp3", ".ogg", ".m4a"}
files = [p for d in sys.argv[1:] for p in pathlib.Path(d).rglob("*") if p.suffix.lower() in exts]
s = 0.0
for p in files:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(p)],
                         capture_output=True, text=True).stdout.strip()
    s += float(out or 0)
print(f"{len(files)} {s:.1f}")
EOF
}

# The stage split `-v` prints: "analysed in X s (decoding A s, matching B s)".
stages() { grep -ho 'analysed in .*' "$work"/logs/"$1".*.err | sed 's/^/    /'; }

step_analyze() {
  gen_score 21 40 "$work/score21"
  gen_score 22 40 "$work/score22"
  read -r n40 s40 <<<"$(dir_s "$work/score21")"
  read -r n2h s2h <<<"$(dir_s "$work/score21" "$work/score22" "$audio")"
  echo "analyze inputs: score21 $n40 files, $s40 s; 2-hour set $n2h files, $s2h s"
  repeat_timed analyze_40 "$bin" analyze "$work/score21" --no-cache -v --quiet --json "$work/analyze_40.json"
  summary analyze_40 "$s40"
  stages analyze_40
  "$bin" eval --truth "$work/score21/truth.json" "$work/analyze_40.json" | tail -1 | sed 's/^/    score21 /'
  repeat_timed analyze_2h "$bin" analyze "$work/score21" "$work/score22" "$audio" --no-cache -v --quiet --json "$work/analyze_2h.json"
  summary analyze_2h "$s2h"
  stages analyze_2h
}

step_warm() {
  gen_score 21 40 "$work/score21"
  gen_score 22 40 "$work/score22"
  read -r _ s2h <<<"$(dir_s "$work/score21" "$work/score22" "$audio")"
  local set2h=("$work/score21" "$work/score22" "$audio")
  rm -rf "$work/cache"
  sed -i "/^analyze_2h_fill\t/d" "$runs"; rm -f "$work"/logs/analyze_2h_fill.*
  timed analyze_2h_fill "$bin" analyze "${set2h[@]}" --cache "$work/cache" -v --quiet --json "$work/analyze_2h_fill.json"
  summary analyze_2h_fill "$s2h"
  stages analyze_2h_fill
  repeat_timed analyze_2h_warm_same "$bin" analyze "${set2h[@]}" --cache "$work/cache" -v --quiet --json "$work/analyze_2h_warm_same.json"
  summary analyze_2h_warm_same "$s2h"
  stages analyze_2h_warm_same
  # Each run a threshold not used before (0.6, 0.65, 0.7...): each traces the stored seeds
  # again rather than reusing the alignments of the run before.
  sed -i "/^analyze_2h_warm\t/d" "$runs"; rm -f "$work"/logs/analyze_2h_warm.*
  for k in $(seq "$repeat"); do
    timed analyze_2h_warm "$bin" analyze "${set2h[@]}" --cache "$work/cache" \
      --threshold "$(python3 -c "print(round(0.55 + 0.05 * $k, 2))")" -v --quiet --json "$work/analyze_2h_warm.json"
  done
  summary analyze_2h_warm "$s2h"
  stages analyze_2h_warm
  python3 - "$runs" <<'EOF'
import sys, statistics
rows = [l.split("\t") for l in open(sys.argv[1])]
# Wall time follows the machine's load; CPU time (user + sys) is the steadier basis of a ratio.
def med(k, cpu):
    v = [float(r[2]) + float(r[3]) if cpu else float(r[1]) for r in rows if r[0] == k]
    return statistics.median_low(v) if v else float("nan")
for cpu in (False, True):
    for base_label in ("analyze_2h", "analyze_2h_fill"):
        base = med(base_label, cpu)
        print(f"{'CPU' if cpu else 'wall'} speed-up over {base_label}: warm cache, same threshold "
              f"{base / med('analyze_2h_warm_same', cpu):.1f}x; warm cache, a new threshold "
              f"{base / med('analyze_2h_warm', cpu):.1f}x")
EOF
}

step_cues() {
  gen_score 21 40 "$work/score21"
  [ -f "$work/ep60/cuetruth.json" ] ||
    python3 scripts/gen_score.py episodes --seed 51 --minutes 60 --count 1 --tracks-dir "$work/score21" --out "$work/ep60" >/dev/null
  local eps=("$work"/ep60/*.wav) ep
  ep=${eps[0]}
  echo "cues input: $ep ($(ffprobe -v error -show_entries format=duration -of csv=p=0 "$ep") s) against 40 tracks"
  repeat_timed cues_60 "$bin" cues --no-cache -v --quiet --json "$work/cues_60.json" --tracks "$work/score21" -- "$ep"
  summary cues_60 "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$ep")"
  stages cues_60
  "$bin" eval --truth "$work/ep60/cuetruth.json" "$work/cues_60.json" | tail -1 | sed 's/^/    /'
  rm -rf "$work/cache-cues40"
  "$bin" cues --cache "$work/cache-cues40" --quiet --json "$work/cues_60_cached.json" --tracks "$work/score21" -- "$ep"
  repeat_timed cues_60_cached "$bin" cues --cache "$work/cache-cues40" -v --quiet --json "$work/cues_60_cached.json" --tracks "$work/score21" -- "$ep"
  summary cues_60_cached "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$ep")"
  stages cues_60_cached
}

step_realset() {
  cut_loop real2h cut 40 180 97
  read -r n s <<<"$(dir_s "$work/real2h")"
  echo "realset: $n files, $s s"
  repeat_timed analyze_real2h "$bin" analyze "$work/real2h" --no-cache -v --quiet --json "$work/analyze_real2h.json"
  summary analyze_real2h "$s"
  stages analyze_real2h
  rm -rf "$work/cache-real2h"
  repeat=1 repeat_timed analyze_real2h_fill "$bin" analyze "$work/real2h" --cache "$work/cache-real2h" -v --quiet --json "$work/analyze_real2h_fill.json"
  summary analyze_real2h_fill "$s"
  for t in 0.5 0.35; do
    repeat=1 repeat_timed "analyze_real2h_t$t" "$bin" analyze "$work/real2h" --cache "$work/cache-real2h" --threshold "$t" -v --quiet --json "$work/analyze_real2h_t$t.json"
    summary "analyze_real2h_t$t" "$s"
    stages "analyze_real2h_t$t"
  done
}

step_library() {
  gen_score 21 40 "$work/score21"
  [ -f "$work/ep60/cuetruth.json" ] ||
    python3 scripts/gen_score.py episodes --seed 51 --minutes 60 --count 1 --tracks-dir "$work/score21" --out "$work/ep60" >/dev/null
  local lib="$work/lib1000" seed f
  mkdir -p "$lib"
  for seed in $(seq 2001 2024); do
    [ -f "$work/lib/s$seed/truth.json" ] ||
      python3 scripts/gen_score.py score --seed "$seed" --tracks 40 --formats flac,ogg,mp3 --out "$work/lib/s$seed" >/dev/null
  done
  # One folder of links: the seed 21 tracks under their own names (the episode's truth names
  # them), the others prefixed with their seed.
  for f in "$work"/score21/*.wav; do ln -sf "$f" "$lib/$(basename "$f")"; done
  for seed in $(seq 2001 2024); do
    for f in "$work/lib/s$seed"/*.flac "$work/lib/s$seed"/*.ogg "$work/lib/s$seed"/*.mp3; do
      [ -e "$f" ] && ln -sf "$f" "$lib/s${seed}_$(basename "$f")"
    done
  done
  local ep=("$work"/ep60/*.wav) cache="$work/cache1000"
  echo "library: $(find "$lib" -maxdepth 1 -type l | wc -l) tracks; episode ${ep[0]}"
  rm -rf "$cache"
  repeat=1 repeat_timed cues_1000_cold "$bin" cues --cache "$cache" -v --quiet --json "$work/cues_1000.json" --tracks "$lib" -- "${ep[0]}"
  summary cues_1000_cold
  stages cues_1000_cold
  repeat_timed cues_1000 "$bin" cues --cache "$cache" -v --quiet --json "$work/cues_1000.json" --tracks "$lib" -- "${ep[0]}"
  summary cues_1000
  stages cues_1000
  echo "    landmark index on disk: $(du -sh "$cache/landmarks-v1" | cut -f1)"
  "$bin" eval --truth "$work/ep60/cuetruth.json" "$work/cues_1000.json" | tail -1 | sed 's/^/    /'
}

for s in "${steps[@]}"; do
  echo "== $s"
  "step_$s"
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
