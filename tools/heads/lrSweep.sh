#!/bin/bash
# Learning-rate sweep for a task's heads, chosen on dev only. For each rate: `hdlm train` into
# OUT/lr<rate>/heads (the task's own heads are not touched), then `hdlm eval` on the dev file;
# logs in OUT/lr<rate>/. Then sweepSummary.mjs prints each head's best dev token accuracy, the
# dev table of both variants, and the rate the protocol picks (README, "learning-rate sweep").
# The backbone pass is shared through the feature cache, so only the first rate pays for it.
#
#   bash tools/heads/lrSweep.sh models/hdlm-tiny/tasks/wordnet.hdlm.json out/data/wordnet/dev.jsonl /tmp/sweep 0.001 0.0005
#
# Needs `node esbuild.mjs` (dist/) and the task's datasets (`npm run data`).
set -euo pipefail
TASK=${1:?usage: lrSweep.sh TASK DEV_FILE OUT_DIR RATE...}
DEV=${2:?dev file}
OUT=${3:?output folder}
shift 3
# Paths as the caller gave them, before moving to the repository root.
TASK=$(realpath -m "$TASK")
DEV=$(realpath -m "$DEV")
OUT=$(realpath -m "$OUT")
cd "$(dirname "$0")/../.."
[ "$#" -gt 0 ] || { echo "lrSweep: give at least one learning rate" >&2; exit 2; }
[ -f dist/hdlm.js ] || { echo "lrSweep: dist/hdlm.js is missing: run node esbuild.mjs first" >&2; exit 2; }
# A copy of the bundle: a rebuild during a long sweep must not change the code under it.
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"' EXIT
cp -r dist "$BIN/dist"
cp package.json "$BIN/"
ln -s "$PWD/node_modules" "$BIN/node_modules"
ln -s "$PWD/models" "$BIN/models"
for lr in "$@"; do
  d="$OUT/lr$lr"
  mkdir -p "$d"
  echo "lrSweep: lr $lr train $(date -u +%T)"
  { date -u +%FT%TZ; uptime; } > "$d/train.log"
  node "$BIN/dist/hdlm.js" train --task "$TASK" --heads "$d/heads" --learning-rate "$lr" >> "$d/train.log" 2>&1
  echo "lrSweep: lr $lr dev eval $(date -u +%T)"
  { date -u +%FT%TZ; uptime; } > "$d/dev-eval.log"
  node "$BIN/dist/hdlm.js" eval --task "$TASK" --heads "$d/heads" --file "$DEV" >> "$d/dev-eval.log" 2>&1
done
node tools/heads/sweepSummary.mjs "$OUT"
