#!/usr/bin/env bash
# Every test of the project: the C++ support-library and conformance tests on
# the local kernel (warnings as errors), the C++ layout (.clang-format) and
# pyflakes over the Python, then the harness's pytest tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ci/bootstrap.sh test

echo "== Python static check (pyflakes)"
/usr/bin/python3 -m pyflakes harness stress/*.py

echo "== C++ layout (clang-format --dry-run, .clang-format)"
git ls-files -z '*.cc' '*.h' '*.c' | xargs -0 clang-format --dry-run --Werror ||
  { echo "shmconform: C++ sources differ from .clang-format; run: git ls-files '*.cc' '*.h' '*.c' | xargs clang-format -i" >&2; exit 1; }

echo "== build (preset ci: warnings as errors)"
cmake --preset ci >/dev/null
cmake --build --preset ci >build/ci/last-build.log 2>&1 || { tail -n 60 build/ci/last-build.log; exit 1; }

echo "== C++ tests (ctest)"
ctest --preset ci --output-on-failure

echo "== harness tests (pytest)"
export SHMCONFORM_BUILD_DIR="$PWD/build/ci"
/usr/bin/python3 -m pytest harness/tests -q -p no:cacheprovider "$@"
