#!/bin/bash
# Ships a finished pretraining run as the default model, then measures what the new backbone
# gives the tasks. Each step logs to RUN/<step>.log with the date and `uptime` first:
#   checkEngine  the engine reproduces the run's greedy samples (dist/hdlm.js vs llama.py)
#   checkHf      transformers reproduces them too (skipped when $PY cannot import transformers;
#                a source checkout works through PYTHONPATH, test/fixtures/parity/README.md)
#   install      RUN/model's weights replace models/hdlm-tiny's (config and tokenizer must match)
#   heads-train  the shipped WordNet heads, retrained for the new weights
#   heads-eval   WordNet test, 800 examples (the README's table)
#   thought-train / thought-eval   the thought-then-answer heads; evaluated on the whole test split
#                (7,561 examples, about 6 minutes on two cores; the 200 of stages 3-20 could not
#                tell the thought's effect from none) with each example in RUN/thought-predictions.jsonl
#   probe        tools/probe/linearProbe.js → tools/probe/results/probe.json (PROBE_ARGS adds
#                options, e.g. "--layers 0,2,4,6,8 --no-full-bow" for a shorter run)
#   probe-framed the same with each gloss inside the WordNet task's prompt → probe-framed.json
# A failed check stops before install; later steps run even if one fails, and the script's
# status is the first failure's.
#
#   bash tools/pretrain/shipRun.sh tools/pretrain/runs/hier-cont2 [STEP...]
#
# Needs `node esbuild.mjs` (dist/, out/tools) and `npm run data` (out/data). STEP... runs only
# those steps, for a rerun after a failure.
set -u
cd "$(dirname "$0")/../.."
RUN=${1:?usage: shipRun.sh RUN_DIR [STEP...]}
shift
STEPS=${*:-checkEngine checkHf install heads-train heads-eval thought-train thought-eval probe probe-framed}
MODEL=models/hdlm-tiny
PY=${PY:-/usr/bin/python3}
status=0

[ -f "$RUN/model/model.safetensors" ] || { echo "shipRun: $RUN/model/model.safetensors is missing (has the run finished?)" >&2; exit 2; }
[ -f dist/hdlm.js ] || { echo "shipRun: dist/hdlm.js is missing: run node esbuild.mjs first" >&2; exit 2; }

# Runs one step with its log; a failure is remembered, not fatal.
step() {
  local name=$1
  shift
  case " $STEPS " in *" $name "*) ;; *) return 0 ;; esac
  echo "shipRun: $name → $RUN/$name.log"
  { echo "$(date -u +%FT%TZ)"; uptime; echo "\$ $*"; } > "$RUN/$name.log"
  local TIMEFORMAT='wall %R s, user %U s, sys %S s'
  { time "$@"; } >> "$RUN/$name.log" 2>&1
  local rc=$?
  echo "rc $rc" >> "$RUN/$name.log"
  if [ $rc -ne 0 ]; then
    echo "shipRun: $name failed (rc $rc); see $RUN/$name.log" >&2
    [ $status -eq 0 ] && status=$rc
  fi
  return $rc
}

# The run's export must be the shipped model's shape and tokenizer: only the weights change.
install() {
  local f
  for f in config.json tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
    cmp "$RUN/model/$f" "$MODEL/$f" || { echo "$RUN/model/$f differs from $MODEL/$f: not a drop-in replacement" >&2; return 1; }
  done
  # Copy beside, then rename: a stop mid-copy never leaves a half-written model file.
  cp "$RUN/model/model.safetensors" "$MODEL/.model.safetensors.tmp" && mv "$MODEL/.model.safetensors.tmp" "$MODEL/model.safetensors"
  sha256sum "$MODEL/model.safetensors"
}

step checkEngine node tools/pretrain/checkEngine.mjs --model "$RUN/model" --samples "$RUN/samples.json" || exit $status
if "$PY" -c 'import transformers' 2> /dev/null; then
  step checkHf "$PY" tools/pretrain/checkHf.py --model "$RUN/model" --heldout tools/pretrain/data/heldout.bin --samples "$RUN/samples.json" || exit $status
fi
step install install || exit $status
step heads-train node dist/hdlm.js train --task $MODEL/tasks/wordnet.hdlm.json
step heads-eval node dist/hdlm.js eval --task $MODEL/tasks/wordnet.hdlm.json --max-examples 800
step thought-train node dist/hdlm.js train --task $MODEL/tasks/thought.hdlm.json
step thought-eval node dist/hdlm.js eval --task $MODEL/tasks/thought.hdlm.json --predictions "$RUN/thought-predictions.jsonl"
# shellcheck disable=SC2086 # PROBE_ARGS is a list of options
step probe node out/tools/probe/linearProbe.js --model $MODEL --out tools/probe/results/probe.json ${PROBE_ARGS:-}
# shellcheck disable=SC2086
step probe-framed node out/tools/probe/linearProbe.js --model $MODEL --frame-task $MODEL/tasks/wordnet.hdlm.json \
  --out tools/probe/results/probe-framed.json ${PROBE_ARGS:-}
exit $status
