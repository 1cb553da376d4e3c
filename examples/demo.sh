#!/usr/bin/env bash
# Set up everything on a fresh Debian 12 machine (as root) and run the demo stack.
#   ./examples/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

# 1. Debian packages: static busybox for the base image, iproute2 for the curious.
if ! command -v busybox >/dev/null || ! busybox --list >/dev/null 2>&1 || ! ldd /bin/busybox 2>&1 | grep -q "not a dynamic"; then
  apt-get update -qq && apt-get install -y -qq busybox-static iproute2 >/dev/null
fi

# 2. pycompose in its own virtualenv (its `compose` package clashes with docker-compose v1's).
[ -x .venv/bin/python ] || python3 -m venv .venv
# compat: a plain path entry instead of setuptools' import hook (~5 ms less per command);
# setuptools calls that mode transitional, so fall back to the default one when it is gone.
if ! .venv/bin/pip install -q -e . --config-settings editable_mode=compat 2>.venv/install.log; then
  .venv/bin/pip install -q -e . 2>&1 | grep -v "^WARNING: Location" || true
fi
# Bytecode and the dataclass cache written now, as pip does for a wheel: where
# PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile from source (`ps` 3x
# slower).
.venv/bin/python -m compileall -q compose engine netdriver >/dev/null
.venv/bin/python -m engine.dataclass_code_cache >/dev/null
PYCOMPOSE="$REPO/.venv/bin/pycompose"

# 3. A base image made locally: a busybox root filesystem imported like `docker import`.
if ! "$PYCOMPOSE" image ls | grep -q '^busybox '; then
  examples/base-image/make-busybox-rootfs.sh /tmp/pycompose-busybox.tar
  "$PYCOMPOSE" image import /tmp/pycompose-busybox.tar busybox:latest
fi
"$PYCOMPOSE" image ls

# 4. The stack: up, ps, the request from one service to the other by name, down.
cd examples/hello
set -x
"$PYCOMPOSE" up -d
for _ in $(seq 100); do  # until the fetcher has done its request (bounded: 10 s)
  "$PYCOMPOSE" ps -a --status exited --services | grep -q fetcher && break
  sleep 0.1
done
"$PYCOMPOSE" ps -a
"$PYCOMPOSE" logs
"$PYCOMPOSE" down -t 1
