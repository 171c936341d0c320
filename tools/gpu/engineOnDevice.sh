#!/bin/bash
# Device call 2 of tools/gpu/README.md: the engine on WebGPU. Unpacks the carried Node and
# onnxruntime-node, loads the Vulkan loaders, then runs, each under its own time limit so one
# hang cannot eat the call: tools/gpu/webgpuCheck (providers, device-resident outputs, graphs
# wholly on the GPU, WebGPU vs CPU at every layer), the parity and early-exit unit tests with
# HDLM_TEST_PROVIDER=webgpu (caches kept in device memory included), the engine benchmark on
# webgpu (and once more with the caches copied back to the host each run, to see what keeping
# them on the device is worth) and on the 16-core CPU, and the WordNet head training on webgpu and
# on the CPU (the issue's "GPU figure").
# Needs .carry/gpu-engine and .gl (sh tools/gpu/pack.sh engine). Writes $OUT/engine.tar.xz
# (reports, bench JSON, logs) and $OUT/device.log.
# Env: STEPS (names to run, default all, in this order: webgpu-check parity-webgpu bench-webgpu
#      train-webgpu bench-webgpu-host bench-cpu train-cpu: the CPU figures come last, the first to
#      drop when time is short), NO_GL=1 to skip unpacking the loaders (a dry run on another machine).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:?run on the device machine, where OUT is set}
CARRY=.carry/gpu-engine
BIN=/tmp/hdlm-node
RES=/tmp/hdlm-results
exec > >(tee "$OUT/device.log") 2>&1

echo "== $(date -u +%FT%TZ) $(uname -m) $(nproc) cores"
if [ "${NO_GL:-0}" != 1 ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
STEPS=${STEPS:-webgpu-check parity-webgpu bench-webgpu train-webgpu bench-webgpu-host bench-cpu train-cpu}
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
rm -rf "$RES" && mkdir -p "$BIN" "$RES" node_modules
xz -dc "$CARRY/node.xz" > "$BIN/node" && chmod +x "$BIN/node"
export PATH="$BIN:$PATH"
# As the extension's server and its jobs run the engine (engine/src/runtime/hugePages.ts).
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}
xz -dc "$CARRY/modules.tar.xz" | tar -C node_modules -xf -
xz -dc "$CARRY/build.tar.xz" | tar -xf -
node --version || { echo "the carried node does not run"; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

# step NAME SECONDS COMMAND...: runs with a limit, logs to $RES/NAME.log, never stops the script.
step() {
  name=$1; limit=$2; shift 2
  case " $STEPS " in *" $name "*) ;; *) echo "== $name: skipped"; return ;; esac
  echo "== $name (limit ${limit}s) $(date -u +%T)"
  start=$(date +%s)
  timeout "$limit" "$@" > "$RES/$name.log" 2>&1
  rc=$?
  echo "== $name: exit $rc in $(( $(date +%s) - start )) s"; tail -12 "$RES/$name.log"
}

step webgpu-check 120 node out/tools/gpu/webgpuCheck.js --device webgpu --out "$RES/webgpu-check.json"
step parity-webgpu 180 env HDLM_TEST_PROVIDER=webgpu node --test --test-reporter=spec out/test/unit/engine/parity.test.js out/test/unit/engine/segmentedModel.test.js out/test/unit/engine/deviceCache.test.js
step bench-webgpu 240 node --max-old-space-size=12000 out/tools/bench/engineBench.js --device webgpu
[ -f test-results/bench-engine.json ] && mv test-results/bench-engine.json "$RES/bench-webgpu.json"
# The WordNet heads are trained into an empty folder with an empty cache: the shipped heads in the
# task's own folder would be reused ("already trained") and the cached features of an earlier step
# read back, and either would time nothing. --events logs each stage, feature batch and epoch as a
# JSON line (the report last), so a step cut by its time limit still shows how far it got.
WORDNET=models/hdlm-tiny/tasks/wordnet.hdlm.json
step train-webgpu 300 env XDG_CACHE_HOME=/tmp/hdlm-cache-webgpu node dist/hdlm.js train --device webgpu --heads /tmp/hdlm-heads-webgpu --task $WORDNET --events
# The 0.5B shapes only: their caches (24 layers) are what a copy each run would cost most on.
step bench-webgpu-host 150 node --max-old-space-size=12000 out/tools/bench/engineBench.js --device webgpu --only qwen --host-cache
[ -f test-results/bench-engine.json ] && mv test-results/bench-engine.json "$RES/bench-webgpu-host.json"
step bench-cpu 240 node --max-old-space-size=12000 out/tools/bench/engineBench.js --device cpu --threads 16
[ -f test-results/bench-engine.json ] && mv test-results/bench-engine.json "$RES/bench-cpu.json"
step train-cpu 300 env XDG_CACHE_HOME=/tmp/hdlm-cache-cpu node dist/hdlm.js train --device cpu --threads 16 --heads /tmp/hdlm-heads-cpu --task $WORDNET --events

tar -C "$RES" -cf - . | xz -T0 -6 > "$OUT/engine.tar.xz"
ls -la "$OUT"
echo "== done $(date -u +%FT%TZ)"
