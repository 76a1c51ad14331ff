# Shared set-up for scripts/test and scripts/demo: OS packages, the project virtualenv, the package.
# Sourced, not run. Leaves VENV and PY set and the project installed in .venv.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

need_os_packages() {
  local missing=()
  command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
  command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)  # tests/tui drive the wizard in tmux
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing OS packages: ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing OS packages: ${missing[*]}" >&2
    echo "run: sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
}

need_venv() {
  local python=${PYTHON:-python3}
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed (found: $($python --version 2>&1))" >&2
    exit 2
  fi
  [ -x "$PY" ] || "$python" -m venv "$VENV"
  # Reinstall only when the project's metadata changed since the last install.
  local stamp="$VENV/.cmk-ceremony-installed"
  local want
  want=$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing cmk-ceremony and its dependencies into $VENV" >&2
    "$PY" -m pip install -q --upgrade pip >/dev/null
    "$PY" -m pip install -q -e "$ROOT[test]"
    echo "$want" > "$stamp"
  fi
}

need_os_packages
need_venv
