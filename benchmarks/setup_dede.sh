#!/usr/bin/env bash
# Create the separate Python environment DeDe needs, at <repo>/.venv-dede (idempotent).
#
# DeDe (OSDI'25, PyPI "dede") pins cvxpy==1.4.0 and numpy==1.26.4 and needs ray; the project's
# .venv has numpy 2.x, so DeDe cannot live there. scipy is pinned to 1.11.4 because newer scipy
# (1.17) breaks "import cvxpy" 1.4.0 ("csc_matrix has no attribute __div__"); networkx is for
# benchmarks/dede_te.py (paths). The environment never imports the project's `te` package.
#
# Usage:  benchmarks/setup_dede.sh            # creates or checks .venv-dede
#         PYTHON=python3.11 benchmarks/setup_dede.sh
#         DEDE_VENV=/elsewhere benchmarks/setup_dede.sh
# Then:   .venv-dede/bin/python benchmarks/dede_te.py
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DEDE_VENV:-$ROOT/.venv-dede}"
PYTHON="${PYTHON:-python3}"
PACKAGES=("dede==0.1.6" "scipy==1.11.4" "networkx")
say() { printf '[setup_dede] %s\n' "$*"; }

check() {  # succeeds when the venv imports everything at the pinned versions
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
want = {"dede": "0.1.6", "cvxpy": "1.4.0", "numpy": "1.26.4", "scipy": "1.11.4"}
for name, version in want.items():
    assert md.version(name) == version, (name, md.version(name))
import cvxpy, dede, networkx, ray  # noqa: F401  (the imports themselves are the check)
assert "SCIPY" in cvxpy.installed_solvers()
EOF
}

if [ -x "$VENV/bin/python" ]; then
    say "found $VENV ($("$VENV/bin/python" --version 2>&1))"
else
    command -v "$PYTHON" >/dev/null || { say "no $PYTHON on PATH (set PYTHON=...)"; exit 1; }
    say "creating venv $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV"
fi
# keep the venv out of git (what Python >= 3.13's venv does by itself); .gitignore does not list it
[ -f "$VENV/.gitignore" ] || { echo '*' > "$VENV/.gitignore"; say "wrote $VENV/.gitignore ('*')"; }

if check; then
    say "already complete: nothing installed"
else
    say "installing: ${PACKAGES[*]}"
    "$VENV/bin/python" -m pip install --quiet "${PACKAGES[@]}"
    check || { say "installed, but the import check still fails:"; "$VENV/bin/python" -c "import cvxpy, dede, ray"; exit 1; }
    say "installed"
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import cvxpy
print("[setup_dede] versions: " + ", ".join(f"{n} {md.version(n)}" for n in
      ("dede", "cvxpy", "numpy", "scipy", "ray", "networkx", "osqp")))
print("[setup_dede] cvxpy solvers: " + ", ".join(cvxpy.installed_solvers()))
EOF
say "run: $VENV/bin/python $ROOT/benchmarks/dede_te.py --help"
