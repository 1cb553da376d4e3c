#!/usr/bin/env bash
# The whole test suite, from a clean clone, as root on Debian 12:
#   ./tests/run.sh            (extra arguments go to pytest, e.g. -k loader)
# Installs what it needs (Debian packages, a virtualenv with the project and its test extras),
# then runs lint, type checks and the unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done < tests/system-packages.txt
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
# compat: a plain path entry instead of setuptools' import hook (~5 ms less per command);
# setuptools calls that mode transitional, so fall back to the default one when it is gone.
if ! .venv/bin/pip install -q -e '.[test]' --config-settings editable_mode=compat 2>.venv/install.log; then
  .venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v "^WARNING: Location" || true
fi

# Bytecode and the dataclass cache written now, as pip does for a wheel: where
# PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile from source (`ps` 3x
# slower).
.venv/bin/python -m compileall -q compose engine netdriver >/dev/null
.venv/bin/python -m engine.dataclass_code_cache >/dev/null

.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
