# A small fixed budget of the property-based fuzzer (tests/fuzz/), run in this process: every
# condition the package signals on messy input must be classed (fastdml_error /
# fastdml_warning / fastdml_message) and no input may be modified in place. The hand-run mode
# with crash and hang detection is `Rscript tests/fuzz/fuzz.R --cases 2000 --seed 1`.

fuzz_dir <- function() testthat::test_path("..", "fuzz")

# The fuzzer's parts (tests/fuzz/fz-*.R) sourced into a fresh environment.
load_fuzzer <- function() {
  env <- new.env()
  for (file in sort(Sys.glob(file.path(fuzz_dir(), "fz-*.R")))) sys.source(file, envir = env)
  env
}

test_that("fuzzer: no unclassed condition, no input modified in place, no hang", {
  skip_if_not(file.exists(file.path(fuzz_dir(), "fz-runner.R")),
              "tests/fuzz/ is not available next to tests/testthat/")
  skip_if_not_installed("data.table")
  skip_if_not_installed("ggplot2")
  env <- load_fuzzer()

  ids <- env$fuzz_case_ids(150L, seed = 20240611L)
  results <- env$fuzz_run(ids, timeout = 20, max_n = 400L)
  flags <- env$fuzz_flag_counts(results)
  report <- paste(env$fuzz_report(results, replay = "Rscript tests/fuzz/fuzz.R --case %d", max_lines = 40),
                  collapse = "\n")

  expect_equal(length(results), 150L)
  expect(flags[["unclassed"]] == 0, sprintf("%d of 150 fuzz cases signalled unclassed conditions.\n%s",
                                            flags[["unclassed"]], report))
  expect(flags[["modified"]] == 0, sprintf("%d of 150 fuzz cases modified an input in place.\n%s",
                                           flags[["modified"]], report))
  expect(flags[["hang"]] == 0, sprintf("%d of 150 fuzz cases ran past 20 s.\n%s", flags[["hang"]], report))
})

test_that("fuzzer cases are reproducible from their seed", {
  skip_if_not(file.exists(file.path(fuzz_dir(), "fz-runner.R")),
              "tests/fuzz/ is not available next to tests/testthat/")
  skip_if_not_installed("data.table")
  env <- load_fuzzer()
  ids <- env$fuzz_case_ids(5L, seed = 1L)
  expect_identical(ids, env$fuzz_case_ids(5L, seed = 1L))
  expect_identical(ids[1:3], env$fuzz_case_ids(3L, seed = 1L))
  a <- env$fuzz_make_case(ids[1L], max_n = 400L)
  b <- env$fuzz_make_case(ids[1L], max_n = 400L)
  expect_identical(a$desc, b$desc)
})
