#!/usr/bin/env bash
# Regenerates docs/report.png: the HTML report of a score (default: a generated 12-track score)
# rendered by headless Chromium. Needs chromium (apt-get install -y chromium) and python3.
#   scripts/report_screenshot.sh [SCORE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
score=${1:-}
if [ -z "$score" ]; then
    score="$work/score"
    python3 scripts/gen_score.py score --seed 11 --tracks 12 --formats wav --sr 22050 --channels 1 --out "$score" >/dev/null
fi
cargo run --quiet -- analyze "$score" --html "$work/report.html" --no-cache --quiet
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,1500 \
    --screenshot="$PWD/docs/report.png" "file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png"
