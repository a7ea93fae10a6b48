# Runs the whole test suite against the installed fastdml and ends with the line
# "N passed, N failed, N skipped" that CI reads. Exit status 1 when anything failed.
# Usage (from the package root): Rscript tools/run-tests.R
suppressPackageStartupMessages(library(testthat))
options(fastdml.num.threads = 2L, testthat.progress.max_fails = Inf)
results <- testthat::test_dir("tests/testthat", package = "fastdml", load_package = "installed",
                              reporter = testthat::SummaryReporter$new(show_praise = FALSE),
                              stop_on_failure = FALSE)
tab <- as.data.frame(results)
failed <- sum(tab$failed) + sum(tab$error)
cat(sprintf("\n%d passed, %d failed, %d skipped\n", sum(tab$passed), failed, sum(tab$skipped)))
quit(status = if (failed > 0) 1L else 0L)
