#!/usr/bin/env bash
# Usage: K3_PY=<python with TF 2.21> K2_PY=<python with TF 2.15> ./run.sh [script.py ...]
# Runs each script in a fresh temporary directory: X.tf221.out (Keras 3) and X.tf215.out (Keras 2).
cd "$(dirname "$0")"
for f in ${@:-*.py}; do
  b=${f%.py}
  ( cd "$(mktemp -d)" && TF_CPP_MIN_LOG_LEVEL=2 "$K3_PY" -u "$OLDPWD/$f" ) > "$b.tf221.out" 2>&1
  ( cd "$(mktemp -d)" && TF_CPP_MIN_LOG_LEVEL=2 "$K2_PY" -u "$OLDPWD/$f" ) > "$b.tf215.out" 2>&1
  echo "$f done"
done
