#!/usr/bin/env bash
# Installs and builds everything on a fresh Debian machine, in one command:
#   Debian packages the tests need (chromium, neovim; libkrb5-dev + pkg-config to compile the
#   VS Code host's native modules), npm packages (without onnxruntime-node's CUDA download),
#   the bundles, and the real VS Code used by the integration tests (cached in .vscode-test/).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium neovim libkrb5-dev pkg-config)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# onnxruntime-node's install script downloads CUDA binaries from outside the npm registry, which
# fails offline; the CPU and WebGPU providers ship inside the package, so skip that step.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build
node out/test/integration/setupHost.js
echo "setup: done"
