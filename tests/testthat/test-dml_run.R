# dml_run() over a configuration and placebo_table(): every row equals the single fit.

test_that("dml_run fits every action and outcome as dml_plr on hash folds, with the CI-PO baseline", {
  skip_if_not_installed("jsonlite")
  d <- sim_customer_actions(3000, 3, seed = 2, n_features = 10)
  cfg <- dml_config(system.file("extdata", "ci_dml.json", package = "fastdml"))
  cfg$baseline$bootstrap <- 5
  res <- dml_run(d, cfg)
  expect_equal(nrow(res), 6L)
  expect_equal(res$outcome, c("post_1", "placebo_1", "post_2", "placebo_2", "post_3", "placebo_3"))
  covs <- grep("^pre_", names(d), value = TRUE)
  spec <- causal_data(d, "placebo_2", "treatment_2", covs)
  direct <- dml_plr(spec, lrn_linear(ridge = 0.01), lrn_logistic(), folds = hash_folds(d$id, 3, 1),
                    ipw = "ATT", trim = 0.001, rescale = TRUE)
  row <- res[res$outcome == "placebo_2", ]
  expect_equal(row$estimate, unname(coef(direct)), tolerance = 1e-10)
  expect_equal(row$std.error, direct$se, tolerance = 1e-10)
  po <- ci_po(spec, n_bins = 10, bootstrap = 5, seed = 1)
  expect_equal(row$po_estimate, unname(coef(po)), tolerance = 1e-10)
  pl <- placebo_table(res)
  expect_equal(pl$outcome, c("placebo_1", "placebo_2", "placebo_3"))
  expect_equal(pl$improvement_pct, 100 * (abs(pl$po_error) - abs(pl$dml_error)) / abs(pl$po_error))
  expect_equal(attr(pl, "pooled_pct"), 100 * (1 - sum(abs(pl$dml_error)) / sum(abs(pl$po_error))))
  expect_equal(attr(pl, "mean_pct"), mean(pl$improvement_pct))
  expect_output(print(pl), "pooled improvement")
  expect_s3_class(res, "data.table")
  expect_error(placebo_table(res, "^nothing_"), class = "fastdml_error_argument")
  expect_error(placebo_table(res[, !"po_estimate"]), "baseline", class = "fastdml_error_argument")
})

test_that("dml_run on mirai partitions equals the in-memory run", {
  skip_if_not_installed("jsonlite")
  skip_if_not_installed("mirai")
  d <- sim_customer_actions(3000, 2, seed = 3, n_features = 10)
  file <- system.file("extdata", "ci_dml.json", package = "fastdml")
  memory <- dml_run(d, file, baseline = FALSE)
  expect_message(workers <- dml_run(fastdml:::split_rows(d, 2), file, backend = "mirai"), "memory only")
  expect_equal(workers$estimate, memory$estimate, tolerance = 1e-8)
  expect_equal(workers$se_HC2, memory$se_HC2, tolerance = 1e-8)
  skip_if_not_installed("duckdb")
  files <- file.path(parquet_dir <- tempfile(), c("a.parquet", "b.parquet"))
  dir.create(parquet_dir)
  con <- DBI::dbConnect(duckdb::duckdb(shared_home = FALSE))
  duckdb::duckdb_register(con, "d", as.data.frame(d))
  for (i in 1:2) DBI::dbExecute(con, sprintf("COPY (SELECT * FROM d WHERE id %% 2 = %d) TO '%s' (FORMAT PARQUET)", i - 1L, files[i]))
  DBI::dbDisconnect(con, shutdown = TRUE)
  parquet <- suppressMessages(dml_run(as.list(files), file, backend = "mirai"))
  expect_equal(parquet$estimate, memory$estimate, tolerance = 1e-8)
  expect_gt(attr(parquet, "passes"), 5L)
})

test_that("dml_run names config problems against the data", {
  skip_if_not_installed("jsonlite")
  d <- sim_customer_actions(500, 2, seed = 3, n_features = 10)
  d$post_2 <- NULL
  expect_error(dml_run(d, system.file("extdata", "ci_dml.json", package = "fastdml")), "post_2",
               class = "fastdml_error_config")
})
