#!/bin/sh
# The CPU continuation behind models/hdlm-tiny (after runCpu.sh): the hierarchical run's exported
# weights trained on with the same early-exit loss (layers 2/4/6, weights 0.2/0.3/0.5, exits on
# 25 % of positions), a fresh AdamW with a short warmup and its own cosine decay, and a new
# data order (seed 4321; the first run used 1234). No plain twin: only the hierarchical model
# is continued. Two threads; slices of PAUSE minutes, each resuming ckpt.pt, so a stop loses at
# most the slice's last minutes. Expects data/{train,heldout}.bin and data/tok/ (README.md).
# With MIX=<file> (taskSequences.ts output), MIX_FRACTION of every batch's rows are task
# examples in the HdLM sequence format. The defaults are stage 2 (runs/hier-cont); stage 3
# (runs/hier-cont2) was
#   INIT=runs/hier-cont/model OUT=runs/hier-cont2 SEED=5678 LR=1e-3 THREADS=2 MINUTES=100
# and stage 4 (runs/hier-mix, the WordNet and thought training splits mixed in) was
#   INIT=runs/hier-cont2/model OUT=runs/hier-mix SEED=9012 LR=1e-3 THREADS=2 MINUTES=90 \
#   MIX=data/tasks.bin MIX_FRACTION=0.5
# MIX_EXIT_WEIGHTS gives the task rows their own exit weights on all their positions
# (pretrain.py --mix-exit-weights); stage 5 (runs/hier-mixexit) was
#   INIT=runs/hier-mix/model OUT=runs/hier-mixexit SEED=3456 LR=1e-3 THREADS=2 MINUTES=70 \
#   MIX=data/tasks.bin MIX_FRACTION=0.5 MIX_EXIT_WEIGHTS=0,1,1
# stage 6 (runs/hier-mixexit2) the same from stage 5 with SEED=7890 MINUTES=75, and stage 7
# (runs/hier-mixexit3) from stage 6 with SEED=2468 MINUTES=70 MIX_EXIT_WEIGHTS=0,2,1.5, stage 8
# (runs/hier-mixexit4) from stage 7 with SEED=1357 MINUTES=60 MIX_EXIT_WEIGHTS=0,3,2, and stage 9
# (runs/hier-mixexit5) from stage 8 with SEED=8642 MINUTES=60 MIX_EXIT_WEIGHTS=0,4,2.5, and stage 10
# (runs/hier-mixexit6) the same from the shipped stage 9 (INIT=../../models/hdlm-tiny) with SEED=9753 MINUTES=70,
# and stage 11 (runs/hier-mixexit7) the same from the shipped stage 10 with SEED=1112 LR=4e-4: a short
# continuation of a trained model restarts its optimizer better at a lower peak (model card, stage 11).
# Stage 12 (runs/hier-mixexit8) is stage 11's settings again from the shipped stage 11 with SEED=2223.
# Tried from stage 12, not shipped (model card): stage 13 (runs/hier-mixexit9) SEED=3334, and
# stage 14 (runs/hier-mixexit10) SEED=4445 MINUTES=60 MIX_EXIT_WEIGHTS=0,6,3.
# MIX_EXIT_TURNS (pretrain.py --mix-exit-turns) scopes each exit's task loss to the labels its
# HdLM head decodes; stage 15 (runs/hier-labels) was stage 12's settings from stage 12 with
# SEED=5556 MINUTES=60 MIX_EXIT_TURNS=0,1,2 (layer 4: the first thought turn, layer 6: the second),
# stage 16 (runs/hier-labels2) the same from the shipped stage 15 with SEED=6667 MINUTES=70, and
# stage 17 (runs/hier-labels3) the same from the shipped stage 16 with SEED=7778, and stage 18
# (runs/hier-mix75) the same from the shipped stage 17 with SEED=8889 MIX_FRACTION=0.75, and
# stage 19 (runs/hier-answer) the same from the shipped stage 18 with SEED=9991 MIX_ANSWER_WEIGHT=2.5
# (pretrain.py --mix-answer-weight: the last layer's loss on the task rows' answer turn), and stage 20
# (runs/hier-answer2) the same from the shipped stage 19 with SEED=1213 MIX_ANSWER_WEIGHT=4.
set -u
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
INIT=${INIT:-runs/hier/model}
OUT=${OUT:-runs/hier-cont}
PAUSE=${PAUSE:-20}
mkdir -p "$OUT"
ARGS="--train data/train.bin --heldout data/heldout.bin --tokenizer-dir data/tok --init-from $INIT \
  --hidden 256 --layers 8 --heads 4 --kv-heads 2 --intermediate 688 --ctx 256 \
  --batch 32 --lr ${LR:-1.5e-3} --min-lr-ratio 0.1 --warmup 30 --minutes ${MINUTES:-70} --seed ${SEED:-4321} \
  --threads ${THREADS:-2} --eval-every 1000000 --eval-minutes 10 --eval-windows 32 --log-every 10 \
  --samples 4 --sample-tokens 40 --exit-layers 2,4,6 --exit-weights 0.2,0.3,0.5 --exit-fraction 0.25 \
  --prompt The --prompt 'The kernel' --prompt 'Python is' --pause-after-minutes $PAUSE --out $OUT"
[ -n "${MIX:-}" ] && ARGS="$ARGS --mix $MIX --mix-fraction ${MIX_FRACTION:-0.5}"
[ -n "${MIX_EXIT_WEIGHTS:-}" ] && ARGS="$ARGS --mix-exit-weights $MIX_EXIT_WEIGHTS"
[ -n "${MIX_EXIT_TURNS:-}" ] && ARGS="$ARGS --mix-exit-turns $MIX_EXIT_TURNS"
[ -n "${MIX_ANSWER_WEIGHT:-}" ] && ARGS="$ARGS --mix-answer-weight $MIX_ANSWER_WEIGHT"
RESUME=""
[ -f "$OUT/ckpt.pt" ] && RESUME="--resume"
while :; do
  echo "== $(date -u +%FT%TZ) $(uptime)" >> "$OUT.log"
  eval "$PY pretrain.py $ARGS $RESUME" >> "$OUT.log" 2>&1
  rc=$?
  echo "== exit $rc $(date -u +%FT%TZ) $(uptime)" >> "$OUT.log"
  [ $rc -eq 3 ] || exit $rc
  RESUME="--resume"
done
