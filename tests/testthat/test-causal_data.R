test_that("causal_data accepts data.frame, data.table, matrix and formulas alike", {
  df <- make_test_data(n = 50)
  a <- test_spec(df)
  b <- causal_data(y ~ d | x1 + x2 + x3 + x4, data = df)
  c <- causal_data(data.table::as.data.table(df), "y", "d", paste0("x", 1:4))
  m <- as.matrix(df)
  e <- causal_data(m, "y", "d", paste0("x", 1:4))
  f <- causal_data(y ~ d | ., data = df)
  for (other in list(b, c, e, f)) {
    expect_identical(other$X, a$X)
    expect_identical(other$y, a$y)
    expect_identical(other$d, a$d)
  }
  expect_equal(a$X, as.matrix(df[, paste0("x", 1:4)]), tolerance = 0)
  expect_identical(a$treatment_type, "binary")
  expect_identical(a$n, 50L)
  expect_output(print(a), "50 rows, 4 covariates")
})

test_that("factor and character covariates are expanded with a note naming the reference", {
  df <- make_test_data(n = 60)
  df$region <- rep(c("north", "south", "east"), 20)
  df$plan <- factor(rep(c("basic", "pro"), 30), levels = c("pro", "basic"))
  expect_message(spec <- causal_data(df, "y", "d", c("x1", "region", "plan")),
                 "reference level \"east\"")
  expect_identical(colnames(spec$X), c("x1", "regionnorth", "regionsouth", "planbasic"))
  expect_equal(spec$X[, "regionsouth"], as.numeric(df$region == "south"))
  expect_equal(spec$X[, "planbasic"], as.numeric(df$plan == "basic"))
})

test_that("a factor treatment uses the control level", {
  df <- make_test_data(n = 40)
  df$arm <- ifelse(df$d == 1, "email", "none")
  spec <- causal_data(df, "y", "arm", "x1", control = "none")
  expect_equal(spec$d, df$d)
  expect_identical(spec$treatment_levels, c("none", "email"))
  expect_error(causal_data(df, "y", "arm", "x1", control = "sms"), "not a level")
})

test_that("each bad input gets its own clear error", {
  df <- make_test_data(n = 40)
  bad <- df; bad$x2[c(3, 7)] <- NA
  expect_error(test_spec(bad), "x2.*missing or non-finite")
  bad <- df; bad$x3[5] <- Inf
  expect_error(test_spec(bad), "x3.*missing or non-finite")
  bad <- df; bad$y[2] <- NaN
  expect_error(test_spec(bad), "outcome column .*y.* 1 missing or non-finite")
  bad <- df; bad$y[2] <- Inf
  expect_error(test_spec(bad), "non-finite")
  bad <- df; bad$d[1] <- NA
  expect_error(test_spec(bad), "treatment column .*d.* missing")
  bad <- df; bad$d <- 1
  expect_error(test_spec(bad), "single value")
  bad <- df; bad$d <- "a"
  expect_error(test_spec(bad), "single level")
  bad <- df; bad$x1 <- 3
  expect_error(test_spec(bad), "x1.* constant")
  bad <- df; bad$x1 <- as.Date("2020-01-01") + seq_len(40)
  expect_error(test_spec(bad), "x1.* not numeric.*model.matrix")
  bad <- df; bad$y <- as.character(bad$y)
  expect_error(test_spec(bad), "outcome column .*y.* must be numeric")
  expect_error(causal_data(df, "yy", "d", "x1"), "outcome column .*yy.* not in")
  expect_error(causal_data(df, "y", "dd", "x1"), "treatment column .*dd.* not in")
  expect_error(causal_data(df, "y", "d", c("x1", "x9")), "x9.* not found")
  expect_error(causal_data(df, "y", "d", c("x1", "x1")), "listed twice")
  dup <- df; names(dup)[2] <- "x1"
  expect_error(causal_data(dup, "y", "d", "x1"), "duplicated column names")
  expect_error(causal_data(df, "y", "d", c("x1", "y")), "both a covariate and the outcome")
  expect_error(causal_data(unname(as.matrix(df)), "y", "d"), "no column names")
  expect_error(causal_data(list(a = 1), "y", "d"), "must be a data.frame")
  expect_error(causal_data(df, "y", "d", "x1", weights = rep(-1, 40)), "negative")
  expect_error(causal_data(df, "y", "d", "x1", weights = 1:3), "length 3")
  expect_error(causal_data(df, "y", "d", "x1", cluster = rep(1, 40)), "single cluster")
  expect_error(causal_data(df, "y", "d", "x1", cluster = c(NA, rep(1:2, length.out = 39))), "missing")
  df$arms3 <- rep(c("a", "b", "c"), length.out = 40)
  arms <- causal_data(df, "y", "arms3", "x1", control = "b")
  expect_identical(arms$treatment_type, "multi")
  expect_identical(arms$treatment_levels, c("b", "a", "c"))
  expect_identical(arms$d, c(a = 1, b = 0, c = 2)[df$arms3], ignore_attr = TRUE)
  expect_error(dml_irm(arms), "3 arms", class = "fastdml_error_treatment")
  expect_error(dml_plr(arms), "dml_multi_irm", class = "fastdml_error_treatment")
  expect_error(causal_data(df, "y", "arms3", "x1", control = "z"), "not a level")
  expect_error(causal_data(y ~ d + x1, data = df), "separate treatment and covariates")
})

test_that("cluster and weights may be columns or vectors", {
  df <- make_test_data(n = 60, n_clusters = 6, weights = TRUE)
  a <- causal_data(df, "y", "d", paste0("x", 1:4), cluster = "cl", weights = "w")
  b <- causal_data(df, "y", "d", paste0("x", 1:4), cluster = df$cl, weights = df$w)
  expect_identical(a$cluster, b$cluster)
  expect_identical(a$weights, b$weights)
  expect_identical(a$cluster, as.integer(factor(df$cl)))
  c <- causal_data(df, "y", "d", cluster = "cl", weights = "w")
  expect_false(any(c("cl", "w") %in% c$covariates))
})

test_that("formula terms are evaluated as R users expect", {
  df <- make_test_data(n = 80, seed = 41)
  df$y <- exp(df$y / 4)
  df$g <- factor(rep(c("a", "b", "c", "d"), 20))
  spec <- causal_data(log(y + 1) ~ d | I(x1^2) + x2 + g + x3:x4, data = df)
  expect_identical(spec$outcome, "log(y + 1)")
  expect_equal(spec$y, log(df$y + 1), tolerance = 0)
  ref <- model.matrix(~ I(x1^2) + x2 + g + x3:x4, df)[, -1]
  expect_identical(spec$covariates, colnames(ref))
  expect_equal(unname(spec$X), unname(ref), tolerance = 0)
  dose <- causal_data(y ~ I(x1 > 0) | x2 + x3, data = df)
  expect_identical(dose$treatment, "I(x1 > 0)")
  expect_equal(dose$d, as.numeric(df$x1 > 0))
  dot <- causal_data(y ~ d | . - x4 - g, data = df)
  expect_identical(dot$covariates, c("x1", "x2", "x3"))
  expect_error(expect_warning(causal_data(log(y - 100) ~ d | x1, data = df), "NaNs produced",
                              class = "fastdml_warning_formula"),
               "log\\(y - 100\\)", class = "fastdml_error_non_finite")
  expect_error(causal_data(y ~ d | x1 + nope, data = df), "nope", class = "fastdml_error_column")
  expect_error(causal_data(y ~ d + x1 | x2, data = df), "exactly one treatment", class = "fastdml_error_formula")
})

test_that("indicator names never overwrite a covariate of the same name", {
  df <- make_test_data(n = 60, seed = 42)
  df$x <- factor(rep(c("0", "1", "2"), 20))
  df$x1 <- rnorm(60)
  expect_message(spec <- causal_data(df, "y", "d", c("x1", "x")), class = "fastdml_message_renamed")
  expect_identical(anyDuplicated(spec$covariates), 0L)
  expect_identical(spec$covariates, c("x1", "x_1", "x2"))
  expect_identical(spec$X[, "x1"], df$x1)
  expect_identical(spec$X[, "x_1"], as.numeric(df$x == "1"))
  expect_identical(spec$X[, "x2"], as.numeric(df$x == "2"))
})

test_that("two-valued treatments are binary with a message naming the control", {
  df <- make_test_data(n = 100, seed = 43)
  plus_minus <- df; plus_minus$d <- 2 * df$d - 1
  expect_message(spec <- test_spec(plus_minus), "control .*-1", class = "fastdml_message_binary_treatment")
  expect_equal(spec$d, df$d, tolerance = 0)
  expect_identical(spec$treatment_type, "binary")
  expect_identical(spec$treatment_levels, c("-1", "1"))
  folds <- make_folds(test_spec(df), 5, seed = 1)
  # The default (boosting) learners draw a seed when none is given: fix it.
  expect_identical(coef(suppressMessages(dml_plr(spec, folds = folds, seed = 1)))[[1]],
                   coef(dml_plr(test_spec(df), folds = folds, seed = 1))[[1]])
  expect_identical(coef(suppressMessages(plr_linear(spec, folds = folds)))[[1]],
                   coef(plr_linear(test_spec(df), folds = folds))[[1]])
  flipped <- test_spec(df, control = 1)
  expect_identical(flipped$d, 1 - df$d)
  expect_equal(coef(dml_irm(flipped, folds = folds, seed = 1))[[1]],
               -coef(dml_irm(test_spec(df), folds = folds, seed = 1))[[1]], tolerance = 1e-10)
  expect_equal(coef(irm_linear(flipped, folds = folds))[[1]], -coef(irm_linear(test_spec(df), folds = folds))[[1]],
               tolerance = 1e-10)
  expect_error(test_spec(df, control = 3), "control", class = "fastdml_error_argument")
  cont <- make_test_data(n = 50, binary_d = FALSE)
  expect_error(test_spec(cont, control = 0), "continuous", class = "fastdml_error_argument")
})

test_that("roles cannot collide and a constant outcome is refused", {
  df <- make_test_data(n = 60, seed = 44, weights = TRUE)
  expect_error(causal_data(df, "y", "y", "x1"), "same column", class = "fastdml_error_column")
  expect_error(causal_data(df, "y", "d", "x1", weights = "d"), "weights", class = "fastdml_error_column")
  const <- df; const$y <- 2
  expect_error(test_spec(const), "y.* constant", class = "fastdml_error_constant")
  rare <- df; rare$y <- 0; rare$y[1:4] <- 1
  expect_warning(test_spec(rare), "only 4 rows differ", class = "fastdml_warning_constant_outcome")
  zero_arm <- df; zero_arm$w[zero_arm$d == 1] <- 0
  expect_error(causal_data(zero_arm, "y", "d", "x1", weights = "w"), "zero on every row of arm",
               class = "fastdml_error_weights")
})
