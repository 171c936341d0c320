#!/usr/bin/env bash
# Installs and builds everything on a fresh Debian machine, in one command:
#   Debian packages the tests need (chromium, neovim; libkrb5-dev, pkg-config, make, g++ and
#   python3 for node-gyp to compile the VS Code host's native modules; unzip to check the packaged
#   .vsix files; Mesa's software Vulkan for WebGPU without a GPU), npm packages
#   (without onnxruntime-node's CUDA download), the bundles, and the real VS Code used by the
#   integration tests (cached in .vscode-test/).
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh Debian (the debian:bookworm image) has none of make, g++, python3 or unzip, and
# nothing else here pulls them in. Only the missing ones are installed.
APT_PACKAGES=(chromium neovim libkrb5-dev pkg-config make g++ python3 unzip)
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# WebGPU without a GPU: Dawn runs on any Vulkan driver, and Mesa's software one (lavapipe) gives
# it an adapter on a CPU-only machine, so `npm test` checks the engine's WebGPU kernels in every
# run (test/runAll.mjs). Dawn refuses Mesa 22.3's lavapipe (bookworm; it lacks dynamic indexing of
# uniform arrays) and takes Mesa 25's, which bookworm has in its backports.
MESA_MIN=25
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
if ! dpkg --compare-versions "$(mesa_version)" ge "$MESA_MIN"; then
  candidate=$(apt-cache policy mesa-vulkan-drivers 2>/dev/null | sed -n 's/^ *Candidate: //p')
  case "$candidate" in [0-9]*) ;; *) candidate=0 ;; esac # "(none)" would compare as new enough
  target=()
  if ! dpkg --compare-versions "$candidate" ge "$MESA_MIN"; then
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "setup: Mesa $candidate is too old for WebGPU on lavapipe; adding ${codename}-backports"
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" |
      "${sudo[@]}" tee "/etc/apt/sources.list.d/${codename}-backports.sources" >/dev/null
    "${sudo[@]}" apt-get update -qq
    target=(-t "${codename}-backports")
  fi
  echo "setup: installing Mesa's Vulkan drivers ${target[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${target[@]}" mesa-vulkan-drivers libvulkan1 >/dev/null
  dpkg --compare-versions "$(mesa_version)" ge "$MESA_MIN" || { echo "setup: mesa-vulkan-drivers $(mesa_version) installed, WebGPU needs >= $MESA_MIN" >&2; exit 1; }
fi

# onnxruntime-node's install script downloads CUDA binaries from outside the npm registry, which
# fails offline; the CPU and WebGPU providers ship inside the package, so skip that step.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build
node out/test/integration/setupHost.js
echo "setup: done"
