#!/usr/bin/env bash
# The demo command of the README: installs what fastdml needs, installs it from this checkout,
# and runs the introductory case study (the getting-started vignette's comparison table) and
# the CX multi-treatment case study in brief (estimates against the truth, design diagnostics).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
R CMD INSTALL --no-docs --no-multiarch . >/tmp/fastdml-install.log 2>&1 || { cat /tmp/fastdml-install.log; exit 1; }
Rscript inst/examples/lesson-basics.R
echo
echo "== CX multi-treatment case study =="
Rscript inst/examples/cx-multitreatment.R
