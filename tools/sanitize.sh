#!/usr/bin/env bash
# Hand-run check (not part of the test suite): builds the standalone C++ core tests
# (tests/cpp/test_core.cpp + src/core/*/*.cpp, no R) with AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer plus OpenMP, runs them, and stops at the first finding.
#
# Usage: bash tools/sanitize.sh [LOGFILE]
#   LOGFILE        full build + run log (default: /tmp/fastdml-sanitize-<date>-<pid>.log)
# Environment:
#   CXX            compiler (default g++)
#   EIGEN_INCLUDE  Eigen headers (default: RcppEigen's include dir, found with Rscript;
#                  R_LIBS is honoured)
#   EXTRA_CXXFLAGS extra flags, e.g. "-D_GLIBCXX_ASSERTIONS" for bounds-checked std::vector
#
# Prints one verdict line last ("sanitizers: clean" or the finding) and exits 0 only when
# the build succeeded, the tests passed and no sanitizer reported anything (leaks included).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

LOG=${1:-/tmp/fastdml-sanitize-$(date +%Y%m%d-%H%M%S)-$$.log}
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

CXX=${CXX:-g++}
if [ -z "${EIGEN_INCLUDE:-}" ]; then
  EIGEN_INCLUDE=$(Rscript --vanilla -e 'cat(system.file("include", package = "RcppEigen"))' 2>/dev/null)
fi
if [ -z "$EIGEN_INCLUDE" ] || [ ! -d "$EIGEN_INCLUDE/Eigen" ]; then
  echo "sanitizers: cannot run: Eigen headers not found (install RcppEigen or set EIGEN_INCLUDE)"
  exit 2
fi

WORK=$(mktemp -d /tmp/fastdml-sanitize.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
EXE="$WORK/test_core"

# -Wno-ignored-attributes: silences a flood of Eigen template warnings in the log.
# shellcheck disable=SC2206
FLAGS=(-std=c++17 -fopenmp -DEIGEN_DONT_PARALLELIZE
       -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
       -g -O1 -Wno-ignored-attributes ${EXTRA_CXXFLAGS:-})
SOURCES=("$ROOT"/src/core/*/*.cpp "$ROOT/tests/cpp/test_core.cpp")

{
  echo "== fastdml sanitizer run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "== repo: $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
  echo "== compiler: $($CXX --version | head -n 1)"
  echo "== build: $CXX ${FLAGS[*]} -I src -I $EIGEN_INCLUDE <${#SOURCES[@]} sources> -o $EXE"
} >>"$LOG"

start=$SECONDS
if ! "$CXX" "${FLAGS[@]}" -I "$ROOT/src" -I "$EIGEN_INCLUDE" "${SOURCES[@]}" -o "$EXE" >>"$LOG" 2>&1; then
  echo "== build FAILED after $((SECONDS - start)) s" >>"$LOG"
  echo "sanitizers: build failed (see $LOG)"
  exit 2
fi
echo "== build took $((SECONDS - start)) s" >>"$LOG"

# halt_on_error: stop at the first ASan finding; detect_leaks: LeakSanitizer stays on (libgomp's
# thread pool is reachable from its globals, so it is not reported as a leak);
# -fno-sanitize-recover=undefined already makes every UBSan finding fatal, halt_on_error too.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:print_stacktrace=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:detect_invalid_pointer_pairs=0:exitcode=86:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1:exitcode=87"
export LSAN_OPTIONS="exitcode=88:report_objects=1"
{
  echo "== ASAN_OPTIONS=$ASAN_OPTIONS"
  echo "== UBSAN_OPTIONS=$UBSAN_OPTIONS"
  echo "== LSAN_OPTIONS=$LSAN_OPTIONS"
  echo "== run: $EXE"
} >>"$LOG"

start=$SECONDS
"$EXE" >>"$LOG" 2>&1
rc=$?
echo "== run exited with status $rc after $((SECONDS - start)) s" >>"$LOG"

# Any sanitizer report, whatever the exit status (a report can in principle come from a thread
# after main returned): take the most telling line of the first one.
finding=$(grep -m 1 -E '^SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$LOG")
[ -z "$finding" ] && finding=$(grep -m 1 -E 'runtime error:|ERROR: (Address|Leak)Sanitizer' "$LOG")
[ -z "$finding" ] && finding=$(grep -m 1 -E 'Assertion .* failed|terminate called' "$LOG")
tests=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -n 1)

if [ -n "$finding" ]; then
  echo "sanitizers: FINDING: $finding (exit $rc; full log: $LOG)"
  [ "$rc" -eq 0 ] && rc=1
  exit "$rc"
fi
if [ "$rc" -ne 0 ]; then
  echo "sanitizers: FAILED: test binary exited with status $rc${tests:+ ($tests)} (full log: $LOG)"
  exit "$rc"
fi
if [ -z "$tests" ]; then
  echo "sanitizers: FAILED: no '<n> passed, <n> failed' line from the tests (full log: $LOG)"
  exit 1
fi
echo "sanitizers: clean ($tests; full log: $LOG)"
exit 0
