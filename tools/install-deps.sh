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
# Scale-out back ends from CRAN. install.packages() does not upgrade an installed dependency
# that is too old (Debian's DBI 1.1.3 makes duckdb fail at load after its whole build; Debian's
# vctrs/rlang are older than current dplyr needs), so first install every dependency, however
# deep, that is missing or below the version CRAN's packages require.
base_pkgs <- rownames(utils::installed.packages(priority = "base"))
visited <- new.env()
too_old <- function(pkgs) {
  out <- character()
  for (pkg in setdiff(pkgs, c(base_pkgs, "R"))) {
    if (exists(pkg, envir = visited, inherits = FALSE) || !pkg %in% rownames(cran_db)) next
    assign(pkg, TRUE, envir = visited)
    fields <- paste(cran_db[pkg, c("Depends", "Imports", "LinkingTo")], collapse = ",")
    entries <- trimws(strsplit(gsub("\n", " ", fields), ",")[[1]])
    entries <- entries[nzchar(entries) & entries != "NA"]
    names <- sub("\\s*\\(.*", "", entries)
    floors <- ifelse(grepl(">=", entries), sub(".*>=\\s*([^)]+)\\).*", "\\1", entries), NA)
    for (i in seq_along(names)) {
      if (names[i] %in% c(base_pkgs, "R")) next
      if (!have(names[i]) || (!is.na(floors[i]) && utils::packageVersion(names[i]) < floors[i])) {
        out <- c(out, names[i])
      }
    }
    out <- c(out, too_old(names))
  }
  unique(out)
}
scale_pkgs <- c("DBI", "mirai", "dplyr", "dbplyr", "duckdb", "nanoarrow")
wanted <- scale_pkgs[!vapply(scale_pkgs, have, logical(1))]
if (have("DBI") && utils::packageVersion("DBI") < "1.2.0") wanted <- c(wanted, "DBI")
# duckdb's dbplyr backend needs dbplyr >= 2.6 (Debian has 2.3)
if (have("dbplyr") && utils::packageVersion("dbplyr") < "2.6.0") wanted <- c(wanted, "dbplyr", "dplyr")
if (length(wanted)) {
  cran_db <- utils::available.packages()
  upgrade <- setdiff(too_old(wanted), wanted)
  if (length(upgrade)) install.packages(upgrade, Ncpus = 2L)
  first <- intersect(c("DBI", "dplyr"), wanted)            # DBI before duckdb, dplyr before dbplyr
  if (length(first)) install.packages(first, Ncpus = 2L)
  rest <- setdiff(wanted, first)
  if (length(rest)) install.packages(rest, Ncpus = 2L)     # duckdb: ~35-40 min source build
}
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
