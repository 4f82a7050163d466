#!/usr/bin/env bash
# The README's demo command: set up what is missing, then run the B4 demo
# (scripts/demo.py; pass --help for its options, e.g. --stay to explore).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
