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

# Every built file engineOnDevice.sh's steps run (test/unit/tools/gpuCarry.test.ts checks it).
build_files='dist/hdlm.js out/tools/bench out/tools/gpu out/test/unit/engine/parity.test.js
  out/test/unit/engine/segmentedModel.test.js out/test/unit/engine/deviceCache.test.js
  out/test/unit/engine/generate.test.js out/data/wordnet'

need() {
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed; packing needs it"; done
}

# The device README's recipe: the Vulkan/EGL loaders WebGPU needs there, downloaded for amd64
# from Debian's lists. They go to a scratch folder and become .gl only once all are there: a
# failed download leaves no half-made .gl, which call 2 would carry without a loader.
fetch_gl() {
  if [ -d .gl ] && [ -n "$(ls .gl/*.deb 2>/dev/null)" ]; then return 0; fi
  need apt-get
  # .gitignore has /.gl/; the exclude keeps it untracked in older checkouts too. In a git
  # worktree .git is a file, so git says where the exclude file is.
  exclude=$(git rev-parse --git-path info/exclude) || fail "not in a git checkout"
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.gl/' "$exclude" 2>/dev/null || echo /.gl/ >> "$exclude"
  tmp=$(mktemp -d)
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null || { rm -rf "$tmp"; fail "apt-get update of the amd64 lists failed (see above); nothing packed"; }
  # shellcheck disable=SC2086
  (cd "$tmp" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2) ||
    { rm -rf "$tmp"; fail "downloading the Vulkan/EGL loader packages failed (see above); nothing packed"; }
  rm -rf .gl && mkdir .gl && mv "$tmp"/*.deb .gl/ && rm -rf "$tmp"
}

pack_engine() {
  d=.carry/gpu-engine
  # Everything is checked, and the loaders fetched, before minutes of xz.
  need node xz tar git
  [ -f dist/hdlm.js ] && [ -f out/tools/gpu/webgpuCheck.js ] || fail "build first: node esbuild.mjs"
  [ -f out/data/wordnet/train.jsonl ] || fail "out/data/wordnet is missing: npm run data (or node out/tools/data/buildDatasets.js --out out/data --only wordnet)"
  for f in $build_files; do
    [ -e "$f" ] || fail "$f is missing: build first (node esbuild.mjs)"
  done
  ort=node_modules/onnxruntime-node
  [ -d "$ort/bin/napi-v6/linux/x64" ] || fail "$ort has no linux-x64 binaries: npm ci first"
  [ -d node_modules/onnxruntime-common ] || fail "node_modules/onnxruntime-common is missing: npm ci first"
  fetch_gl
  # Written beside the old pack and swapped in at the end: an interrupted run leaves the old one.
  rm -rf "$d.partial" && mkdir -p "$d.partial"
  xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > "$d.partial/node.xz"
  # Only what require('onnxruntime-node') loads at run time: its dist, the linux-x64 binaries
  # (WebGPU is built into libonnxruntime there) and onnxruntime-common.
  tar -C node_modules -cf - onnxruntime-node/package.json onnxruntime-node/dist \
    onnxruntime-node/bin/napi-v6/linux/x64 onnxruntime-common | xz -T0 -9 > "$d.partial/modules.tar.xz"
  # shellcheck disable=SC2086
  tar -cf - $build_files | xz -T0 -9 > "$d.partial/build.tar.xz"
  rm -rf "$d" && mv "$d.partial" "$d"
  echo "pack.sh: $d $(size $d), .gl $(size .gl)"
}

case $what in
  pretrain) pack_pretrain ;;
  engine) pack_engine ;;
  all) pack_pretrain; pack_engine ;;
  *) fail "usage: pack.sh pretrain|engine|all" ;;
esac
echo "pack.sh: tracked tree $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes (all that travels must stay under 64 MiB a call)"
