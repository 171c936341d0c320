#!/bin/sh
# The CPU runs behind models/hdlm-tiny (2-core shared machine, Debian python3-torch 1.13):
# the hierarchical run and the plain comparison run, same seed, data order and step count,
# one thread each, side by side (see the model card for why not sequential with 2 threads).
# Expects tools/pretrain/data/{train,heldout}.bin and data/tok/ (see README.md there).
set -eu
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
COMMON="--train data/train.bin --heldout data/heldout.bin --tokenizer-dir data/tok \
  --hidden 256 --layers 8 --heads 4 --kv-heads 2 --intermediate 688 --ctx 256 \
  --batch 16 --lr 3e-3 --warmup 40 --steps ${STEPS:-500} --minutes ${MINUTES:-60} --seed 1234 \
  --threads 1 --eval-every 50 --eval-windows 32 --log-every 10 --samples 4 --sample-tokens 40 \
  --prompt The --prompt 'The kernel' --prompt 'Python is'"
eval "$PY pretrain.py $COMMON --out runs/hier --exit-layers 2,4,6 --exit-weights 0.2,0.3,0.5 --exit-fraction 0.25" > runs/hier.log 2>&1 &
HIER=$!
eval "$PY pretrain.py $COMMON --out runs/plain --plain" > runs/plain.log 2>&1 &
PLAIN=$!
wait $HIER $PLAIN

