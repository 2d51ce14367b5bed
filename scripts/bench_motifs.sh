#!/usr/bin/env bash
# Motif benchmark: generates synthetic scores (one per seed), analyses them and scores the
# reports against their ground truth. Usage: scripts/bench_motifs.sh [SEED...] (default 1 2 3 4 5).
# Needs python3 with numpy, scipy, soundfile, music21 and ffmpeg (see fixtures/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)
work=${BENCH_DIR:-/tmp/leitmotif-bench}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/leitmotif
for seed in "${seeds[@]}"; do
  dir="$work/seed$seed"
  [ -f "$dir/truth.json" ] || python3 scripts/gen_score.py score --seed "$seed" --tracks 12 --out "$dir" >/dev/null
  "$bin" analyze "$dir" --json "$work/seed$seed.json" --no-cache --quiet
  echo "== seed $seed"
  "$bin" eval --truth "$dir/truth.json" "$work/seed$seed.json" | grep -E '^(tier|F1)'
done
