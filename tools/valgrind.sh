#!/usr/bin/env bash
# Hand-run check (not part of the test suite): runs tools/valgrind-suite.R, a small workload of
# fastdml's compiled code (cross-fitting on 1 and 2 threads, PLR/IRM scores, clustered and
# weighted inference, full-sample fits of ipw() and t_learner()), under valgrind memcheck with
# full leak checking, and summarises the log.
#
# Usage: bash tools/valgrind.sh [LOGFILE]
#   LOGFILE        full log: R's output and valgrind's report, valgrind lines prefixed "==PID=="
#                  (default: /tmp/fastdml-valgrind-<date>-<pid>.log)
# Environment:
#   FASTDML_LIB    library holding the installed fastdml to test, put first on R_LIBS
#                  (default: none, i.e. R_LIBS as set, else R's normal libraries). E.g.
#                    R CMD INSTALL --no-docs -l /tmp/vglib . && FASTDML_LIB=/tmp/vglib bash tools/valgrind.sh
#   VALGRIND_EXTRA extra valgrind options (e.g. "--gen-suppressions=all")
#   OMP_WAIT_POLICY defaults to "passive" here: valgrind runs one thread at a time, so libgomp's
#                  spin-waiting workers would only burn the time slices (no effect on the checks)
#
# Suppressions: tools/valgrind.supp (known false positives of libgomp/cli thread TLS only; no
# fastdml frame is ever suppressed). Prints one verdict line last and exits non-zero on any
# valgrind error or definite/possible leak (valgrind's --error-exitcode=42), or if the suite
# itself failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

LOG=${1:-/tmp/fastdml-valgrind-$(date +%Y%m%d-%H%M%S)-$$.log}
mkdir -p "$(dirname "$LOG")"
if [ -n "${FASTDML_LIB:-}" ]; then
  export R_LIBS="$FASTDML_LIB${R_LIBS:+:$R_LIBS}"
fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
command -v valgrind >/dev/null || { echo "valgrind: cannot run: valgrind not installed (apt-get install valgrind)"; exit 2; }

# Paths are relative to the repo root (R -d word-splits the debugger command).
VG="valgrind --leak-check=full --track-origins=yes --error-exitcode=42 --num-callers=40"
VG="$VG --suppressions=tools/valgrind.supp -s ${VALGRIND_EXTRA:-}"
{
  echo "== fastdml valgrind run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "== repo: $(pwd) ($(git rev-parse --short HEAD 2>/dev/null || echo 'no git'))"
  echo "== R_LIBS=${R_LIBS:-<unset>} OMP_WAIT_POLICY=$OMP_WAIT_POLICY"
  echo "== command: R -d \"$VG\" --vanilla --no-echo -f tools/valgrind-suite.R"
} >"$LOG"

start=$SECONDS
R -d "$VG" --vanilla --no-echo -f tools/valgrind-suite.R >>"$LOG" 2>&1
rc=$?
elapsed=$((SECONDS - start))
echo "== R under valgrind exited with status $rc after $elapsed s" >>"$LOG"

summary=$(grep -m 1 -o 'ERROR SUMMARY: .*' "$LOG")
definite=$(grep -m 1 -o 'definitely lost: .*' "$LOG")
indirect=$(grep -m 1 -o 'indirectly lost: .*' "$LOG")
possible=$(grep -m 1 -o 'possibly lost: .*' "$LOG")
if grep -q 'All heap blocks were freed' "$LOG"; then
  definite="definitely lost: 0 bytes"; indirect="indirectly lost: 0 bytes"; possible="possibly lost: 0 bytes"
fi

# Split valgrind's report into records (separated by empty "==PID== " lines); keep the error
# and leak records and count those with a frame of fastdml's own code in their stack.
read -r n_records n_fastdml first_fastdml < <(awk '
  function flush() {
    if (rec != "" && head ~ /(Invalid (read|write|free)|uninitialised|Conditional jump|Syscall param|Mismatched free|Source and destination overlap|are (definitely|indirectly|possibly) lost|Argument .* of function|Use of)/) {
      n++
      if (rec ~ /fastdml/) { nf++; if (firstf == "") { firstf = head; gsub(/ /, "_", firstf) } }
    }
    rec = ""; head = ""
  }
  /^==[0-9]+== ?$/ { flush(); next }
  /^==[0-9]+== / { line = $0; sub(/^==[0-9]+== /, "", line); if (rec == "") head = line; rec = rec "\n" line; next }
  END { flush(); print n + 0, nf + 0, (firstf == "" ? "-" : firstf) }' "$LOG")

done_marker=$(grep -c '^valgrind suite: done' "$LOG")
{
  echo "== $summary"
  echo "== leaks: $definite; $indirect; $possible"
  echo "== error/leak records: $n_records, of which with a fastdml frame: $n_fastdml"
} >>"$LOG"

details="${summary:-no ERROR SUMMARY}; ${definite:-definitely lost: ?}; ${indirect:-indirectly lost: ?}"
if [ "$done_marker" -eq 0 ]; then
  echo "valgrind: FAILED: the suite did not finish (exit $rc; $details; log: $LOG; ${elapsed}s)"
  [ "$rc" -eq 0 ] && rc=1
  exit "$rc"
fi
if [ "$rc" -ne 0 ] || ! [[ "$summary" =~ ^ERROR\ SUMMARY:\ 0\ errors ]]; then
  where="$n_fastdml of $n_records records with a fastdml frame"
  [ "$n_fastdml" -gt 0 ] && where="$where, first: ${first_fastdml//_/ }"
  echo "valgrind: FINDING: $details ($where; exit $rc; log: $LOG; ${elapsed}s)"
  [ "$rc" -eq 0 ] && rc=1
  exit "$rc"
fi
echo "valgrind: clean ($details; ${possible:-possibly lost: ?}; log: $LOG; ${elapsed}s)"
exit 0
