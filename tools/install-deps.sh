#!/usr/bin/env bash
# Installs what fastdml needs on a fresh Debian machine with R: prebuilt r-cran-* packages from
# Debian where it can (root and apt-get available), CRAN for anything still missing.
#   tools/install-deps.sh            runtime dependencies
#   tools/install-deps.sh --tests    + what the test suite needs (with the packages the learner
#                                    wrappers are tested against: ranger, glmnet, grf, mlr3,
#                                    mlr3learners, xgboost 1.7.8.1 from CRAN's archive on R < 4.3,
#                                    sensemakr, the sensitivity analysis' external anchor, and
#                                    sandwich, the heterogeneity tests' reference; jsonlite,
#                                    dbplyr, mirai, DBI >= 1.2 and duckdb for the scale-out
#                                    back ends: duckdb is a ~35 min source build, only when missing)
#   tools/install-deps.sh --docs     + what the vignettes and R CMD check need
#   tools/install-deps.sh --bench    + the peers the benchmarks compare against (DoubleML)
set -euo pipefail
want_tests=0; want_docs=0; want_bench=0
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1 ;;
    --docs) want_docs=1; want_tests=1 ;;
    --bench) want_bench=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

r_pkgs="Rcpp RcppEigen data.table ggplot2 generics cli"
[ "$want_tests" = 1 ] && r_pkgs="$r_pkgs testthat callr ranger glmnet sandwich jsonlite"
[ "$want_docs" = 1 ] && r_pkgs="$r_pkgs knitr rmarkdown roxygen2"

deb_pkgs=""
for p in $r_pkgs; do deb_pkgs="$deb_pkgs r-cran-$(echo "$p" | tr 'A-Z' 'a-z')"; done
[ "$want_docs" = 1 ] && deb_pkgs="$deb_pkgs pandoc"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends $deb_pkgs >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends $deb_pkgs >/dev/null 2>&1 ||
      echo "install-deps: some Debian packages were not available; falling back to CRAN" >&2
  fi
fi

Rscript - $r_pkgs <<'RS'
pkgs <- commandArgs(trailingOnly = TRUE)
missing <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]
if (length(missing)) {
  message("install-deps: installing from CRAN: ", paste(missing, collapse = ", "))
  install.packages(missing, Ncpus = 2L)
}
still <- pkgs[!vapply(pkgs, requireNamespace, logical(1), quietly = TRUE)]
if (length(still)) stop("could not install: ", paste(still, collapse = ", "))
RS

# Learner wrappers' peers not in Debian: source builds from CRAN, only when missing (grf ~4 min,
# xgboost ~10 min on 2 cores). mlr3 needs a newer checkmate than Debian's; current xgboost
# needs R >= 4.3, so R 4.2 gets 1.7.8.1 from the archive.
if [ "$want_tests" = 1 ] || [ "$want_bench" = 1 ]; then
  MAKEFLAGS="${MAKEFLAGS:--j2}" Rscript - <<'RS'
have <- function(p) requireNamespace(p, quietly = TRUE)
if (!have("mlr3")) install.packages("checkmate", Ncpus = 2L)
missing <- Filter(Negate(have), c("grf", "mlr3", "mlr3learners", "sensemakr"))
if (length(missing)) install.packages(missing, Ncpus = 2L)
if (!have("xgboost")) {
  if (getRversion() >= "4.3.0") {
    install.packages("xgboost", Ncpus = 2L)
  } else {
    archive <- file.path(tempdir(), "xgboost_1.7.8.1.tar.gz")
    cran <- getOption("repos")[["CRAN"]]
    if (is.null(cran) || cran == "@CRAN@") cran <- "https://cloud.r-project.org"
    utils::download.file(paste0(cran, "/src/contrib/Archive/xgboost/xgboost_1.7.8.1.tar.gz"),
                         archive, quiet = TRUE)
    install.packages(archive, repos = NULL, type = "source")
  }
}
# Scale-out back ends: DuckDB needs CRAN's DBI (>= 1.2; Debian's 1.1.3 fails at load after the
# whole build), so DBI first; mirai (and its nanonext) from CRAN.
if (!have("DBI") || utils::packageVersion("DBI") < "1.2.0") install.packages("DBI", Ncpus = 2L)
if (!have("mirai")) install.packages("mirai", Ncpus = 2L)
# duckdb's dbplyr backend needs dbplyr >= 2.6 (Debian has 2.3), which needs a current dplyr.
if (!have("dbplyr") || utils::packageVersion("dbplyr") < "2.6.0") install.packages(c("dplyr", "dbplyr"), Ncpus = 2L)
if (!have("duckdb")) install.packages("duckdb", Ncpus = 2L)
if (!have("nanoarrow")) install.packages("nanoarrow", Ncpus = 2L)   # DuckDB's streamed chunks
still <- Filter(Negate(have), c("grf", "mlr3", "mlr3learners", "sensemakr", "xgboost", "mirai", "duckdb", "nanoarrow"))
if (length(still)) message("install-deps: could not install ", paste(still, collapse = ", "), "; their tests will skip")
RS
fi

if [ "$want_bench" = 1 ]; then
  Rscript - <<'RS'
if (!requireNamespace("DoubleML", quietly = TRUE)) {
  install.packages("checkmate", Ncpus = 2L)   # DoubleML needs a newer checkmate than Debian's
  install.packages(c("DoubleML", "mlr3", "mlr3learners"), Ncpus = 2L)
}
RS
fi
