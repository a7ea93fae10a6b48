# dml_config() (JSON configuration of CI-DML runs) and resolve_config().

# A minimal valid configuration as a parsed list; fields given in `...` replace its fields.
cfg_list <- function(...) {
  base <- list(
    column_groups = list(pre = "^pre_", treatment = "^treatment_(.+)$", outcome = "^post_(.+)$"),
    actions = list(treatment = "@treatment", outcomes = list("post_%s", "placebo_%s")),
    stages = list(
      list(stage = "propensity_model", learner = "logistic", input = "@pre", target = "@treatment"),
      list(stage = "outcome_model", learner = "ridge", params = list(ridge = 0.01), input = "@pre",
           target = "@outcome"),
      list(stage = "residualer", trim = 0.001)))
  over <- list(...)
  base[names(over)] <- over
  base
}

# `config` with fields of stage i replaced.
set_stage <- function(config, i, ...) {
  over <- list(...)
  config$stages[[i]][names(over)] <- over
  config
}

new_dir <- function() {
  dir <- tempfile("fastdml-config-")
  dir.create(dir)
  dir
}

write_file <- function(dir, name, text) {
  path <- file.path(dir, name)
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  writeLines(text, path)
  path
}

TOY_COLUMNS <- c("id", "treatment_b", "pre_1", "treatment_a", "pre_2", "extra", "post_a", "post_b",
                 "treatment_c", "post_c", "placebo_a", "placebo_b", "placebo_c", "segment")

test_that("the example configuration and its included stages file parse", {
  skip_if_not_installed("jsonlite")
  file <- system.file("extdata", "ci_dml.json", package = "fastdml")
  stages_file <- system.file("extdata", "ci_dml_stages.json", package = "fastdml")
  expect_true(nzchar(file) && nzchar(stages_file))
  config <- dml_config(file)
  expect_s3_class(config, "fastdml_config")
  expect_equal(basename(config$source), c("ci_dml.json", "ci_dml_stages.json"))
  expect_equal(vapply(config$stages, `[[`, "", "stage"),
               c("standardizer", "propensity_model", "propensity_metrics", "outcome_model",
                 "outcome_metrics", "residualer"))
  expect_s3_class(config$learners$treatment, "fastdml_learner")
  expect_equal(config$learners$treatment$kind, "logistic")
  expect_equal(config$learners$outcome$kind, "linear")
  expect_equal(config$learners$outcome$ridge, 0.01)
  expect_equal(config$residualer, list(ipw = "ATT", trim = 0.001, trim_mode = "drop", rescale = TRUE,
                                       intercept = FALSE, vcov = "HC0", output = "residual_%s"))
  expect_equal(config$cross_fitting, list(n_folds = 3L, seed = 1L))
  expect_equal(config$metrics, list(propensity = "auc", outcome = "r2"))
  expect_true(config$standardize)
  expect_equal(config$id, "id")
  expect_equal(config$actions$outcomes, c("post_%s", "placebo_%s"))
  expect_equal(config$baseline, list(method = "ci_po", n_bins = 10L, bootstrap = 200L))
  expect_output(print(config), "propensity_model +logistic: @pre -> @treatment")
  expect_output(print(config), "ridge\\(0\\.01\\)")
  # The stages file alone holds no actions: completed by a list, it is a valid configuration.
  stages <- jsonlite::fromJSON(stages_file, simplifyVector = FALSE)
  alone <- dml_config(c(stages, cfg_list()[c("column_groups", "actions")]))
  expect_equal(alone$stages, config$stages)
  expect_equal(alone$source, "<list>")
  expect_error(dml_config(stages_file), class = "fastdml_error_config", regexp = "actions\\.treatment.*missing")
})

test_that("includes merge field by field, the including file wins and stages are replaced", {
  skip_if_not_installed("jsonlite")
  dir <- new_dir()
  write_file(dir, "parts/base.json", '{
    "include": ["more.json"],
    "column_groups": {"pre": "^x_", "treatment": "^treatment_(.+)$", "outcome": "^post_(.+)$"},
    "cross_fitting": {"n_folds": 5, "seed": 7},
    "stages": [
      {"stage": "propensity_model", "learner": "logistic", "input": "@pre", "target": "@treatment"},
      {"stage": "outcome_model", "learner": "linear", "input": "@pre", "target": "@outcome"},
      {"stage": "residualer", "ipw": "ATE"}]}')
  write_file(dir, "parts/more.json", '{"id": "customer", "cross_fitting": {"seed": 99}}')
  main <- write_file(dir, "main.json", '{
    "include": ["parts/base.json"],
    "column_groups": {"pre": "^pre_"},
    "cross_fitting": {"n_folds": 4},
    "actions": {"treatment": "@treatment", "outcomes": "post_%s"}}')
  config <- dml_config(main)
  expect_equal(basename(config$source), c("main.json", "base.json", "more.json"))
  expect_equal(config$cross_fitting, list(n_folds = 4L, seed = 7L))   # main, then base over more
  expect_equal(config$column_groups$pre, "^pre_")
  expect_equal(config$column_groups$treatment, "^treatment_(.+)$")
  expect_equal(config$id, "customer")
  expect_equal(config$residualer$ipw, "ATE")
  expect_equal(config$learners$outcome$kind, "linear")
  expect_equal(length(config$stages), 3L)
  # A stages list of the including file replaces the included one.
  write_file(dir, "main2.json", '{
    "include": ["parts/base.json"],
    "actions": {"treatment": "@treatment", "outcomes": "post_%s"},
    "stages": [
      {"stage": "standardizer"},
      {"stage": "propensity_model", "learner": "boost", "params": {"max_depth": 2, "n_rounds": 20},
       "input": "@pre", "target": "@treatment"},
      {"stage": "outcome_model", "learner": "ridge", "params": {"ridge": 2}, "input": "@pre", "target": "@outcome"},
      {"stage": "residualer"}]}')
  config2 <- dml_config(file.path(dir, "main2.json"))
  expect_equal(vapply(config2$stages, `[[`, "", "stage"),
               c("standardizer", "propensity_model", "outcome_model", "residualer"))
  expect_equal(config2$learners$treatment$kind, "boost")
  expect_equal(config2$learners$treatment$params$max_depth, 2L)
  expect_equal(config2$learners$outcome$ridge, 2)
  expect_equal(config2$residualer$ipw, "ATT")   # the default, not base.json's ATE
  expect_equal(config2$column_groups$pre, "^x_")
})

test_that("a JSON string and a parsed list give the same configuration", {
  skip_if_not_installed("jsonlite")
  json <- jsonlite::toJSON(cfg_list(id = "id"), auto_unbox = TRUE)
  from_string <- dml_config(as.character(json))
  from_list <- dml_config(cfg_list(id = "id"))
  expect_equal(from_string$source, "<string>")
  expect_equal(from_list$source, "<list>")
  from_string$source <- from_list$source <- NULL
  expect_equal(from_string, from_list)
  expect_equal(from_list$residualer$trim, 0.001)
  expect_false(from_list$standardize)
  expect_equal(from_list$metrics, list())
  expect_null(from_list$baseline)
  # A JSON string may include a file by absolute path.
  stages_file <- system.file("extdata", "ci_dml_stages.json", package = "fastdml")
  json <- sprintf('{"include": ["%s"], "column_groups": {"pre": "^pre_", "treatment": "^treatment_(.+)$",
    "outcome": "^post_(.+)$"}, "actions": {"treatment": "@treatment", "outcomes": ["post_%%s"]}}', stages_file)
  included <- dml_config(json)
  expect_equal(included$source, c("<string>", normalizePath(stages_file, winslash = "/")))
  expect_equal(included$learners$outcome$ridge, 0.01)
})

test_that("invalid configurations are named errors that give the field path", {
  skip_if_not_installed("jsonlite")
  bad <- function(config, regexp) expect_error(dml_config(config), class = "fastdml_error_config", regexp = regexp)
  bad(set_stage(cfg_list(), 1, learner = "forest"), "stages\\[1\\]\\.learner.*\"linear\", \"ridge\"")
  bad(set_stage(cfg_list(), 2, params = list(ridge = 0.01, alpha = 1)), "stages\\[2\\]\\.params\\.alpha")
  bad(set_stage(cfg_list(), 2, params = list(ridge = -1)), "stages\\[2\\]\\.params.*ridge")
  bad(set_stage(cfg_list(), 2, params = NULL), "stages\\[2\\]\\.params\\.ridge")
  stages <- cfg_list()$stages
  bad(cfg_list(stages = c(stages[1], list(list(stage = "outcome_modle")), stages[3])),
      "stages\\[2\\]\\.stage.*outcome_modle")
  bad(cfg_list(stages = stages[c(2, 1, 3)]), "stages\\[2\\].*propensity_model.*must come before.*stages\\[1\\]")
  bad(cfg_list(stages = stages[c(1, 2, 2, 3)]), "stages\\[3\\].*outcome_model.*repeats stages\\[2\\]")
  bad(cfg_list(stages = stages[c(1, 3)]), "lacks the required stage.*outcome_model")
  bad(set_stage(cfg_list(), 3, trim = 0.5), "stages\\[3\\]\\.trim.*\\[0, 0\\.5\\)")
  bad(set_stage(cfg_list(), 3, trim = -0.1), "stages\\[3\\]\\.trim")
  bad(set_stage(cfg_list(), 3, ipw = "ATU"), "stages\\[3\\]\\.ipw")
  bad(set_stage(cfg_list(), 3, trim_mode = "cut"), "stages\\[3\\]\\.trim_mode")
  bad(set_stage(cfg_list(), 3, vcov = list("HC0", "HC4")), "stages\\[3\\]\\.vcov\\[2\\]")
  bad(set_stage(cfg_list(), 3, rescale = "yes"), "stages\\[3\\]\\.rescale")
  bad(set_stage(cfg_list(), 3, trimm = 0.1), "stages\\[3\\]\\.trimm")
  bad(cfg_list(stages = c(stages[1], list(list(stage = "propensity_metrics", metrics = list("auc", "mse"))), stages[2:3])),
      "stages\\[2\\]\\.metrics\\[2\\]")
  bad(cfg_list(cross_fitting = list(n_folds = 1)), "cross_fitting\\.n_folds")
  bad(cfg_list(stagez = list()), "Unknown field.*stagez")
  bad(set_stage(cfg_list(), 1, input = "@covariates"), "stages\\[1\\]\\.input.*@covariates.*not a column group")
  bad(cfg_list(column_groups = list(pre = "^pre_(", treatment = "^t")), "column_groups\\.pre.*regular expression")
  bad(cfg_list(actions = NULL), "actions\\.treatment.*missing")
  bad(cfg_list(stages = list()), "stages.*non-empty list")
  bad('{"stages": [}', "not valid JSON")
  bad(file.path(tempdir(), "no-such-config.json"), "does not exist")
})

test_that("missing and cyclic includes are named errors", {
  skip_if_not_installed("jsonlite")
  dir <- new_dir()
  a <- write_file(dir, "a.json", '{"include": ["b.json"], "id": "id"}')
  write_file(dir, "b.json", '{"include": ["a.json"]}')
  expect_error(dml_config(a), class = "fastdml_error_config", regexp = "Cyclic.*a\\.json -> b\\.json -> a\\.json")
  self <- write_file(dir, "self.json", '{"include": "self.json"}')
  expect_error(dml_config(self), class = "fastdml_error_config", regexp = "self\\.json -> self\\.json")
  missing <- write_file(dir, "c.json", '{"include": ["stages.json", "nowhere.json"]}')
  write_file(dir, "stages.json", '{"include": []}')
  expect_error(dml_config(missing), class = "fastdml_error_config", regexp = "include\\[2\\].*nowhere\\.json")
})

test_that("a missing suggested package is a classed error naming install.packages()", {
  expect_error(fastdml:::config_need_package("fastdmlNoSuchPackage"), class = "fastdml_error_missing_package",
               regexp = "install\\.packages\\(\"fastdmlNoSuchPackage\"\\)")
})

test_that("resolve_config() gives each action's treatment, outcomes and covariates in column order", {
  skip_if_not_installed("jsonlite")
  config <- dml_config(set_stage(cfg_list(id = "id"), 2, input = list("pre_2", "extra")))
  actions <- fastdml:::resolve_config(config, TOY_COLUMNS)
  expect_equal(names(actions), c("b", "a", "c"))
  expect_equal(actions$b, list(action = "b", treatment = "treatment_b", outcomes = c("post_b", "placebo_b"),
                               covariates = c("pre_1", "pre_2"), outcome_covariates = c("pre_2", "extra")))
  expect_equal(vapply(actions, `[[`, "", "treatment"), c(b = "treatment_b", a = "treatment_a", c = "treatment_c"))
  expect_equal(actions$c$outcomes, c("post_c", "placebo_c"))
  expect_true(all(vapply(actions, function(a) identical(a$covariates, c("pre_1", "pre_2")), logical(1))))
  # A plain regex (no group), and the example configuration on simulator-like columns.
  plain <- fastdml:::resolve_config(set_stage(cfg_list(), 1, input = "^pre_|^extra$"), TOY_COLUMNS)
  expect_equal(plain$a$covariates, c("pre_1", "pre_2", "extra"))
  sim_columns <- c("id", sprintf("pre_%03d", 1:3), "pre_recency", sprintf("treatment_%d", 1:2),
                   sprintf("post_%d", 1:2), sprintf("placebo_%d", 1:2), "true_cate_1", "true_cate_2", "segment")
  example <- fastdml:::resolve_config(system.file("extdata", "ci_dml.json", package = "fastdml"), sim_columns)
  expect_equal(unname(lapply(example, `[[`, "outcomes")), list(c("post_1", "placebo_1"), c("post_2", "placebo_2")))
  expect_equal(example[["2"]]$outcome_covariates, c("pre_001", "pre_002", "pre_003", "pre_recency"))
})

test_that("resolve_config() names the group, column or action that does not fit the data", {
  skip_if_not_installed("jsonlite")
  config <- dml_config(cfg_list(id = "id"))
  resolve_bad <- function(config, columns, regexp) {
    expect_error(fastdml:::resolve_config(config, columns), class = "fastdml_error_config", regexp = regexp)
  }
  resolve_bad(config, sub("^pre_", "x_", TOY_COLUMNS), "column group pre.*stages\\[1\\]\\.input.*matches no column")
  resolve_bad(config, setdiff(TOY_COLUMNS, "placebo_c"), "Action \"c\".*placebo_c.*placebo_%s.*actions\\.outcomes")
  resolve_bad(config, setdiff(TOY_COLUMNS, "id"), "id names column id that is not in the data")
  resolve_bad(dml_config(set_stage(cfg_list(), 2, input = list("pre_1", "pre_9"))), TOY_COLUMNS,
              "stages\\[2\\]\\.input.*pre_9.*not in the data.*columns include id, treatment_b")
  resolve_bad(dml_config(set_stage(cfg_list(), 2, input = "income")), TOY_COLUMNS,
              "stages\\[2\\]\\.input.*income.*not in the data")
  resolve_bad(dml_config(set_stage(cfg_list(), 1, input = "^age_")), TOY_COLUMNS, "stages\\[1\\]\\.input.*\\^age_.*matches no column")
  resolve_bad(dml_config(set_stage(cfg_list(), 1, input = "^pre_|^post_")), TOY_COLUMNS, "model inputs include.*post_a")
  undefined <- config
  undefined$column_groups$outcome <- NULL
  resolve_bad(undefined, TOY_COLUMNS, "stages\\[2\\]\\.target.*@outcome.*not a column group")
})
