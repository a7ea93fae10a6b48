#!/usr/bin/env bash
# The test command of the README (and of CI): installs what the tests need, installs fastdml
# from this checkout, and runs the whole suite, ending with "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh --tests
R CMD INSTALL --no-docs --no-multiarch . >/tmp/fastdml-install.log 2>&1 || { cat /tmp/fastdml-install.log; exit 1; }
Rscript tools/run-tests.R
