#!/bin/sh
# Packs what the GPU machine needs into the git-ignored .carry/ folder, for the two prepared
# device calls of tools/gpu/README.md. The device machine has Python/torch but no Node, and at
# most 64 MiB travel per call (the tracked tree, ~18 MiB, included), so each call carries only
# its own part:
#   pretrain  .carry/gpu-pretrain  the tokenized corpus (xz), and the task mix when  ~18 MB
#                                  tools/pretrain/data/tasks.bin exists (xz)          +2 MB
#   engine    .carry/gpu-engine    Node, onnxruntime-node (linux-x64 only), the built
#                                  bundles and the WordNet dataset (xz)              ~40 MB
#             .gl                  the Vulkan/EGL loader packages WebGPU needs there  ~1 MB
# Usage: sh tools/gpu/pack.sh pretrain|engine|all   (run `node esbuild.mjs` and `npm run data`
# first for `engine`; tools/pretrain/README.md makes the corpus for `pretrain`).
set -eu
cd "$(dirname "$0")/../.."
what=${1:-all}

fail() { echo "pack.sh: $*" >&2; exit 1; }
size() { du -sh "$1" | cut -f1; }

pack_pretrain() {
  d=.carry/gpu-pretrain
  data=tools/pretrain/data
  for f in train.bin heldout.bin train.bin.json heldout.bin.json tok/tokenizer.json; do
    [ -f "$data/$f" ] || fail "$data/$f is missing: tokenize the corpus first (tools/pretrain/README.md)"
  done
  rm -rf "$d" && mkdir -p "$d"
  xz -T0 -6 -c "$data/train.bin" > "$d/train.bin.xz"
  cp "$data/heldout.bin" "$data/train.bin.json" "$data/heldout.bin.json" "$d/"
  cp -r "$data/tok" "$d/tok"
  # The task examples pretraining mixes in (tools/pretrain/README, "Mixing in task examples").
  if [ -f "$data/tasks.bin" ]; then
    xz -T0 -6 -c "$data/tasks.bin" > "$d/tasks.bin.xz"
    cp "$data/tasks.bin.json" "$d/"
  else
    echo "pack.sh: no $data/tasks.bin: the device runs will not mix in task examples"
  fi
  echo "pack.sh: $d $(size $d)"
}

pack_engine() {
  d=.carry/gpu-engine
  [ -f dist/hdlm.js ] && [ -f out/tools/gpu/webgpuCheck.js ] || fail "build first: node esbuild.mjs"
  [ -f out/data/wordnet/train.jsonl ] || fail "out/data/wordnet is missing: npm run data (or node out/tools/data/buildDatasets.js --out out/data --only wordnet)"
  ort=node_modules/onnxruntime-node
  [ -d "$ort/bin/napi-v6/linux/x64" ] || fail "$ort has no linux-x64 binaries: npm ci first"
  rm -rf "$d" && mkdir -p "$d"
  xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > "$d/node.xz"
  # Only what require('onnxruntime-node') loads at run time: its dist, the linux-x64 binaries
  # (WebGPU is built into libonnxruntime there) and onnxruntime-common.
  tar -C node_modules -cf - onnxruntime-node/package.json onnxruntime-node/dist \
    onnxruntime-node/bin/napi-v6/linux/x64 onnxruntime-common | xz -T0 -9 > "$d/modules.tar.xz"
  # Every built file engineOnDevice.sh's steps run (test/unit/tools/gpuCarry.test.ts checks it).
  tar -cf - dist/hdlm.js out/tools/bench out/tools/gpu out/test/unit/engine/parity.test.js \
    out/test/unit/engine/segmentedModel.test.js out/test/unit/engine/deviceCache.test.js \
    out/test/unit/engine/generate.test.js out/data/wordnet \
    | xz -T0 -9 > "$d/build.tar.xz"
  if [ ! -d .gl ] || [ -z "$(ls .gl/*.deb 2>/dev/null)" ]; then
    # The device README's recipe: the loaders, downloaded for amd64 from Debian's lists.
    mkdir -p .gl /tmp/amd64/partial
    grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    apt-get $o update >/dev/null
    # shellcheck disable=SC2086
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  echo "pack.sh: $d $(size $d), .gl $(size .gl)"
}

case $what in
  pretrain) pack_pretrain ;;
  engine) pack_engine ;;
  all) pack_pretrain; pack_engine ;;
  *) fail "usage: pack.sh pretrain|engine|all" ;;
esac
echo "pack.sh: tracked tree $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes (all that travels must stay under 64 MiB a call)"
