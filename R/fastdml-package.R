#' fastdml: fast double/debiased machine learning
#'
#' Cross-fitted DML and doubly robust estimation of causal effects with a multi-threaded C++
#' core. Start with [causal_data()], then [dml_plr()] or [dml_irm()]; see
#' `vignette("getting-started", package = "fastdml")`.
#'
#' Threads: every fitting function takes `num.threads`, which defaults to
#' `getOption("fastdml.num.threads", 2)` and is capped by the `OMP_THREAD_LIMIT` environment
#' variable and the number of cores. Results are identical for any number of threads.
#'
#' @keywords internal
#' @useDynLib fastdml, .registration = TRUE
#' @importFrom Rcpp sourceCpp
#' @importFrom stats median pnorm qnorm setNames var sd coef vcov confint nobs predict fitted
#' @importFrom generics tidy glance
#' @import data.table
"_PACKAGE"

#' @export
generics::tidy

#' @export
generics::glance
