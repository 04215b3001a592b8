# Sourced by scripts/demo and scripts/test: creates .venv once and installs the project into it,
# reinstalling only when pyproject.toml changes. Safe to run any number of times.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "erpbridge needs Python >= 3.11 (found: $("$PY" --version 2>&1))" >&2
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PY" -m venv .venv
fi
EXTRAS="${ERPBRIDGE_EXTRAS:-dev}"
STAMP=".venv/.erpbridge-installed-$(sha256sum pyproject.toml | cut -c1-16)-${EXTRAS//,/_}"
if [ ! -f "$STAMP" ]; then
    echo "==> installing erpbridge[$EXTRAS] into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[${EXTRAS}]"
    rm -f .venv/.erpbridge-installed-*
    touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
