#!/usr/bin/env bash
# Cue benchmark: generates a 12-track score (seed 31) and 5 ten-minute episodes (seed 32) that
# play excerpts of it under babble, noise and effects, runs `leitmotif cues` over them and scores
# the cue sheet against the episodes' cuetruth.json (per-episode and overall cue P/R/F1).
# Target: cue F1 >= 0.9. Nothing is tuned here; default thresholds only.
# Usage: scripts/bench_cues.sh [SCORE_SEED EPISODE_SEED] (default 31 32)
# Environment: BENCH_DIR (default /tmp/leitmotif-cues; generated audio is reused when present).
# Needs python3 with numpy, scipy, soundfile, music21 and ffmpeg (see fixtures/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
score_seed=${1:-31}
ep_seed=${2:-32}
work=${BENCH_DIR:-/tmp/leitmotif-cues}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/leitmotif
score="$work/score$score_seed"
eps="$work/episodes$ep_seed"
[ -f "$score/truth.json" ] || python3 scripts/gen_score.py score --seed "$score_seed" --tracks 12 --out "$score" >/dev/null
[ -f "$eps/cuetruth.json" ] ||
  python3 scripts/gen_score.py episodes --seed "$ep_seed" --count 5 --minutes 10 --tracks-dir "$score" --out "$eps" >/dev/null
out="$work/cues_${score_seed}_${ep_seed}.json"
start=$(date +%s.%N)
"$bin" cues --no-cache --quiet --json "$out" --tracks "$score" -- "$eps"/*.wav
end=$(date +%s.%N)
echo "== score seed $score_seed, episodes seed $ep_seed: cues in $(python3 -c "print(f'{$end - $start:.1f}')") s"
"$bin" eval --truth "$eps/cuetruth.json" "$out"
