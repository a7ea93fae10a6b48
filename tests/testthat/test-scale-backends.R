# Scale-out back ends (specs/amazon-ci-dml.md §Scale-out): the sufficient-statistics passes give
# the in-memory CI-DML fit on the same hash folds (estimates and all five variances to 1e-8).

scale_case <- function(n = 6000, seed = 3) {
  d <- sim_customer_actions(n, 5, seed = seed, n_features = 12)
  list(data = d, covariates = grep("^pre_", names(d), value = TRUE),
       treatments = c("treatment_1", "treatment_2", "treatment_5"),
       outcomes = list(c("post_1", "placebo_1"), "post_2", "post_5"))
}

scale_fit_with <- function(case, backend, source = case$data, options = NULL, chunk_rows = 1000,
                           table = NULL) {
  if (is.null(options)) options <- fastdml:::ci_dml_options("ATT", 0.001, "drop", TRUE, FALSE)
  tab <- causal_table(source, "post_1", "treatment_1", case$covariates, chunk_rows = chunk_rows,
                      table = table)
  fastdml:::dml_plr_table(tab, lrn_linear(ridge = 0.01), lrn_logistic(), 3, 11, options, backend, 2L,
                          treatments = case$treatments, outcomes = case$outcomes)
}

expect_same_fits <- function(a, b, tolerance = 1e-8) {
  cols <- c("estimate", "se_const", "se_HC0", "se_HC1", "se_HC2", "se_HC3", "r2_l", "n", "n_retained")
  expect_equal(a$table[cols], b$table[cols], tolerance = tolerance)
  expect_equal(a$table$auc_m, b$table$auc_m, tolerance = 1e-3)
}

test_that("hash folds are portable arithmetic, balanced and seed-dependent", {
  id <- c(0, 1, 2, 2147483646, 2147483647, 9e15)
  h <- ((id %% 2147483647) + 7919 * 5) %% 2147483647
  h <- (48271 * ((48271 * h) %% 2147483647)) %% 2147483647
  expect_identical(hash_folds(id, 4, seed = 5), as.integer(h %% 4) + 1L)
  f <- hash_folds(1:30000, 3, seed = 1)
  expect_true(all(abs(tabulate(f, 3) / 30000 - 1 / 3) < 0.01))
  expect_false(identical(f, hash_folds(1:30000, 3, seed = 2)))
  expect_error(hash_folds(c(1, NA), 3), class = "fastdml_error_argument")
  expect_error(hash_folds(1:10, 3, seed = 1.5), class = "fastdml_error_argument")
})

test_that("the chunked sufficient-statistics fit equals the in-memory fit for every option", {
  case <- scale_case()
  plan_fit <- function(options, chunk_rows) {
    plan <- fastdml:::scale_plan(case$covariates, case$treatments, case$outcomes, "id", 3L, 11,
                                 options, 0.01, 0, 2L)
    pairs <- data.frame(treatment_index = c(1, 1, 2, 3), outcome_index = 1:4)
    reducer <- fastdml:::scale_reducer(list(source = case$data, chunk_rows = chunk_rows), plan, "memory")
    list(table = fastdml:::scale_fit(reducer$reduce, plan, pairs))
  }
  settings <- list(
    fastdml:::ci_dml_options("ATT", 0.001, "drop", TRUE, FALSE),
    fastdml:::ci_dml_options("ATE", 0.01, "clip", FALSE, TRUE),
    fastdml:::ci_dml_options("none", 0, "drop", FALSE, FALSE))
  for (options in settings) {
    memory <- scale_fit_with(case, "memory", options = options)
    expect_same_fits(plan_fit(options, 777), memory)
    expect_same_fits(plan_fit(options, 6000), memory)
  }
})

test_that("the in-memory table fit is dml_plr on hash folds", {
  case <- scale_case(3000, seed = 4)
  fit <- scale_fit_with(case, "memory")
  spec <- causal_data(case$data, "post_2", "treatment_2", case$covariates)
  direct <- dml_plr(spec, lrn_linear(ridge = 0.01), lrn_logistic(), folds = hash_folds(case$data$id, 3, 11),
                    ipw = "ATT", trim = 0.001, rescale = TRUE)
  row <- fit$table[fit$table$outcome == "post_2", ]
  expect_equal(row$estimate, unname(coef(direct)), tolerance = 1e-12)
  expect_equal(row$se_HC3, tidy(direct, vcov = "HC3")$std.error, tolerance = 1e-12)
  expect_s3_class(fit, "dml_plr_scaled")
  expect_equal(nrow(tidy(fit, vcov = c("const", "HC1"))), 8L)
  expect_output(print(fit), "CI-DML \\(memory back end")
})

test_that("mirai workers give the in-memory fit on 1e5 rows (data-frame and CSV partitions)", {
  skip_if_not_installed("mirai")
  case <- scale_case(1e5)
  memory <- scale_fit_with(case, "memory")
  expect_same_fits(scale_fit_with(case, "mirai", source = fastdml:::split_rows(case$data, 3), chunk_rows = 20000), memory)
  small <- scale_case()
  files <- vapply(1:2, function(i) tempfile(fileext = ".csv"), character(1))
  parts <- fastdml:::split_rows(small$data, 2)
  for (i in 1:2) utils::write.csv(parts[[i]], files[i], row.names = FALSE)
  expect_same_fits(scale_fit_with(small, "mirai", source = as.list(files)), scale_fit_with(small, "memory"))
  expect_false(mirai::daemons_set())
})

test_that("DuckDB tables, Parquet files and dbplyr lazy tables give the in-memory fit on 1e5 rows", {
  skip_if_not_installed("duckdb")
  skip_if_not_installed("DBI")
  case <- scale_case(1e5)
  memory <- scale_fit_with(case, "memory")
  path <- tempfile(fileext = ".duckdb")
  con <- DBI::dbConnect(duckdb::duckdb(shared_home = FALSE), dbdir = path)
  DBI::dbWriteTable(con, "actions", as.data.frame(case$data))
  parquet <- tempfile(fileext = ".parquet")
  DBI::dbExecute(con, sprintf("COPY actions TO '%s' (FORMAT PARQUET)", parquet))
  expect_same_fits(scale_fit_with(case, "duckdb", source = con, chunk_rows = 15000, table = "actions"), memory)
  if (requireNamespace("dbplyr", quietly = TRUE) && requireNamespace("dplyr", quietly = TRUE)) {
    lazy <- dplyr::tbl(con, "actions")
    expect_same_fits(scale_fit_with(case, "dbplyr", source = lazy), memory)
  }
  DBI::dbDisconnect(con, shutdown = TRUE)
  tab <- causal_table(path, "post_1", "treatment_1", case$covariates, table = "actions")
  expect_same_fits(fastdml:::dml_plr_table(tab, lrn_linear(ridge = 0.01), lrn_logistic(), 3, 11,
                                           fastdml:::ci_dml_options("ATT", 0.001, "drop", TRUE, FALSE),
                                           "duckdb", 2L, treatments = case$treatments, outcomes = case$outcomes),
                   memory)
  expect_same_fits(scale_fit_with(case, "duckdb", source = parquet), memory)
  one <- dml_plr(causal_table(parquet, "post_1", "treatment_1", case$covariates), lrn_linear(ridge = 0.01),
                 lrn_logistic(), n_folds = 3, seed = 11, ipw = "ATT", trim = 0.001, rescale = TRUE,
                 backend = "duckdb")
  expect_equal(unname(coef(one)), memory$table$estimate[1], tolerance = 1e-8)
})

test_that("back-end errors are named", {
  case <- scale_case(2000, seed = 5)
  tab <- causal_table(case$data, "post_1", "treatment_1", case$covariates)
  expect_error(dml_plr(tab, lrn_boost(), lrn_logistic(), seed = 1, backend = "mirai"), class = "fastdml_error_learner")
  expect_error(dml_plr(tab, lrn_linear(), lrn_logistic(), seed = 1, backend = "spark"), class = "fastdml_error_argument")
  spec <- causal_data(case$data, "post_1", "treatment_1", case$covariates)
  expect_error(dml_plr(spec, backend = "duckdb"), "causal_table", class = "fastdml_error_argument")
  bad <- causal_table(case$data, "post_1", "treatment_1", c(case$covariates, "pre_nothing"))
  plan <- fastdml:::scale_plan(bad$covariates, "treatment_1", list("post_1"), "id", 3L, 1,
                               fastdml:::ci_dml_options(), 0, 0, 1L)
  expect_error(fastdml:::chunk_pass(case$data, plan, list(type = "moments", shift = 0)),
               "pre_nothing", class = "fastdml_error_column")
  holed <- case$data
  holed$pre_001[5] <- NA
  plan$covariates <- case$covariates
  expect_error(fastdml:::chunk_pass(holed, plan, list(type = "moments", shift = 0)),
               "pre_001", class = "fastdml_error_non_finite")
  plan$covariates <- c(case$covariates, "segment")
  one_segment <- case$data
  one_segment$segment <- 1L
  reducer <- fastdml:::scale_reducer(list(source = one_segment, chunk_rows = 1000), plan, "memory")
  expect_error(fastdml:::scale_fit(reducer$reduce, plan, data.frame(treatment_index = 1, outcome_index = 1)),
               "segment", class = "fastdml_error_constant")
  plan$covariates <- case$covariates
  plan$treatments <- "pre_002"
  reducer <- fastdml:::scale_reducer(list(source = case$data, chunk_rows = 1000), plan, "memory")
  expect_error(fastdml:::scale_fit(reducer$reduce, plan, data.frame(treatment_index = 1, outcome_index = 1)),
               "pre_002", class = "fastdml_error_treatment")
  expect_error(dml_plr(causal_table("nothing.duckdb", "y", "d", "x", table = "t"), lrn_linear(),
                       lrn_logistic(), seed = 1, backend = "duckdb"),
               class = if (requireNamespace("duckdb", quietly = TRUE)) "fastdml_error_argument" else "fastdml_error_package")
})
