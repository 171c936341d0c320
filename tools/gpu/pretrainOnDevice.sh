#!/bin/bash
# Device call 1 of tools/gpu/README.md: pretrain the default model's shape on the GPU, the
# hierarchical run (exit losses at layers 2/4/6) and its plain twin side by side on the one GPU
# for the same wall-clock budget, then check the hierarchical model with transformers and make
# the parity fixtures with that machine's transformers as a second reference.
# Needs .carry/gpu-pretrain (sh tools/gpu/pack.sh pretrain). Writes to $OUT (3 files):
#   hier-model.tar   the exported Hugging Face folder of the hierarchical run (~14 MB)
#   runs.tar.xz      both runs' logs, eval/summary/samples records, checkHf and fixture logs, fixtures
#   device.log       this script's own log
# Env: MINUTES (training budget per run, default 5), DEVICE (cuda), BATCH (128), LR (3e-3),
#      FINAL_EVAL_WINDOWS (0 = the whole held-out split; a CPU dry run wants a few),
#      PY (python3), COMPILE=1 to torch.compile the layers (untested on that torch so far: off by default),
#      MIX_FRACTION (0.75: share of each batch taken from the carried task examples, tasks.bin.xz,
#      when pack.sh found them; both runs get the same mix; 0 turns it off),
#      MIX_EXIT_WEIGHTS (0,4,2.5: the hierarchical run's exit weights at layers 2/4/6 on the task
#      rows, pretrain.py --mix-exit-weights; "" weights them like corpus rows),
#      MIX_EXIT_TURNS (0,1,2: each exit reads only the labels its head decodes, pretrain.py
#      --mix-exit-turns; "" every task position),
#      MIX_ANSWER_WEIGHT (4: the last layer's extra loss on the task rows' answer turn, pretrain.py
#      --mix-answer-weight; "" none).
#      The task-row defaults are the shipped model's last CPU stage (20, models/hdlm-tiny/README.md):
#      what 20 stages found best for the WordNet heads. Until 2026-12-07 they were stage 5's
#      (0.25, 0,1,1, none, none).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:?run on the device machine, where OUT is set}
MINUTES=${MINUTES:-5}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-128}
LR=${LR:-3e-3}
CARRY=.carry/gpu-pretrain
WORK=${WORK:-/tmp/hdlm-pretrain}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
exec > >(tee "$OUT/device.log") 2>&1

echo "== $(date -u +%FT%TZ) $(uname -m) $(nproc) cores; budget $MINUTES min a run"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
"$PY" -c 'import transformers; print("transformers", transformers.__version__)' || echo "no transformers: checkHf and the fixtures will fail"

rm -rf "$WORK" && mkdir -p "$WORK/data"
xz -dc "$CARRY/train.bin.xz" > "$WORK/data/train.bin" || { echo "no corpus in $CARRY"; exit 2; }
cp -r "$CARRY/heldout.bin" "$CARRY/train.bin.json" "$CARRY/heldout.bin.json" "$CARRY/tok" "$WORK/data/"
MIX=()
HIER_MIX=()
if [ -f "$CARRY/tasks.bin.xz" ] && [ "${MIX_FRACTION:-0.75}" != 0 ]; then
  xz -dc "$CARRY/tasks.bin.xz" > "$WORK/data/tasks.bin"
  MIX=(--mix "$WORK/data/tasks.bin" --mix-fraction "${MIX_FRACTION:-0.75}")
  MIX_EXIT_WEIGHTS=${MIX_EXIT_WEIGHTS-0,4,2.5}
  MIX_EXIT_TURNS=${MIX_EXIT_TURNS-0,1,2}
  MIX_ANSWER_WEIGHT=${MIX_ANSWER_WEIGHT-4}
  [ -n "$MIX_EXIT_WEIGHTS" ] && HIER_MIX=(--mix-exit-weights "$MIX_EXIT_WEIGHTS")
  [ -n "$MIX_EXIT_WEIGHTS" ] && [ -n "$MIX_EXIT_TURNS" ] && HIER_MIX+=(--mix-exit-turns "$MIX_EXIT_TURNS")
  [ -n "$MIX_EXIT_WEIGHTS" ] && [ -n "$MIX_ANSWER_WEIGHT" ] && HIER_MIX+=(--mix-answer-weight "$MIX_ANSWER_WEIGHT")
fi
echo "== task mix: ${MIX[*]:-none} ${HIER_MIX[*]:-}"
ls -la "$WORK/data"

COMMON=(--train "$WORK/data/train.bin" --heldout "$WORK/data/heldout.bin" --tokenizer-dir "$WORK/data/tok"
  --hidden 256 --layers 8 --heads 4 --kv-heads 2 --intermediate 688 --ctx 256
  --batch "$BATCH" --lr "$LR" --min-lr-ratio 0.1 --warmup 300 --minutes "$MINUTES" --seed 1234
  --device "$DEVICE" --eval-every 1000000000 --eval-minutes 1 --eval-windows 64 --log-every 50
  --ckpt-minutes 1000 --samples 4 --sample-tokens 40 --final-eval-windows "${FINAL_EVAL_WINDOWS:-0}"
  --prompt The --prompt 'The kernel' --prompt 'Python is' "${MIX[@]}")
[ "${COMPILE:-0}" = 1 ] && COMMON+=(--compile)
# A hard stop well past the budget: the final evaluation and export follow the training minutes.
LIMIT=$("$PY" -c "print(int(($MINUTES + 4) * 60))")

timeout "$LIMIT" "$PY" tools/pretrain/pretrain.py "${COMMON[@]}" --exit-layers 2,4,6 --exit-weights 0.2,0.3,0.5 \
  --exit-fraction 1.0 "${HIER_MIX[@]}" --out "$WORK/hier" > "$WORK/hier.log" 2>&1 &
HIER=$!
timeout "$LIMIT" "$PY" tools/pretrain/pretrain.py "${COMMON[@]}" --plain --out "$WORK/plain" > "$WORK/plain.log" 2>&1 &
PLAIN=$!

# The fixtures need only the CPU: made while the GPU trains.
timeout 240 "$PY" tools/parity/makeFixtures.py --out "$WORK/parity" > "$WORK/parity.log" 2>&1
echo "== parity fixtures: exit $? ($(du -sh "$WORK/parity" 2>/dev/null | cut -f1))"

wait $HIER; echo "== hierarchical run: exit $?"; tail -5 "$WORK/hier.log"
wait $PLAIN; echo "== plain run: exit $?"; tail -5 "$WORK/plain.log"

if [ -f "$WORK/hier/model/model.safetensors" ]; then
  timeout 120 "$PY" tools/pretrain/checkHf.py --model "$WORK/hier/model" --heldout "$WORK/data/heldout.bin" \
    --samples "$WORK/hier/samples.json" > "$WORK/checkHf.log" 2>&1
  echo "== checkHf: exit $?"; tail -5 "$WORK/checkHf.log"
  tar -C "$WORK/hier" -cf "$OUT/hier-model.tar" model
fi
for run in hier plain; do [ -d "$WORK/$run" ] && rm -rf "$WORK/$run/model" "$WORK/$run/ckpt.pt"; done
tar -C "$WORK" -cf - hier plain hier.log plain.log parity parity.log checkHf.log 2>/dev/null | xz -T0 -6 > "$OUT/runs.tar.xz"
ls -la "$OUT"
echo "== done $(date -u +%FT%TZ)"
