# The C++ core compiled on its own, without R: proves src/core needs no R headers and runs the
# standalone core tests (tests/cpp/test_core.cpp). Needs the source tree (skipped under
# R CMD check, where only the installed package is at hand) and a C++17 compiler.
test_that("the C++ core builds without R and passes its standalone tests", {
  root <- normalizePath(file.path(testthat::test_path(), "..", ".."), mustWork = FALSE)
  core_test <- file.path(root, "tests", "cpp", "test_core.cpp")
  skip_if_not(file.exists(core_test) && dir.exists(file.path(root, "src", "core")),
              "package source tree not available")
  cxx <- Sys.which("g++")
  skip_if(!nzchar(cxx), "no g++ on the PATH")
  eigen <- system.file("include", package = "RcppEigen")
  exe <- tempfile("test_core")
  sources <- c(Sys.glob(file.path(root, "src", "core", "*", "*.cpp")), core_test)
  build <- system2(cxx, c("-std=c++17", "-O1", "-fopenmp", "-DEIGEN_DONT_PARALLELIZE", "-w",
                          "-I", shQuote(file.path(root, "src")), "-I", shQuote(eigen),
                          shQuote(sources), "-o", shQuote(exe)), stdout = TRUE, stderr = TRUE)
  expect_identical(attr(build, "status"), NULL, info = paste(build, collapse = "\n"))
  out <- system2(exe, stdout = TRUE, stderr = TRUE)
  expect_identical(attr(out, "status"), NULL, info = paste(out, collapse = "\n"))
  expect_match(utils::tail(out, 1), "^[0-9]+ passed, 0 failed$")
})
