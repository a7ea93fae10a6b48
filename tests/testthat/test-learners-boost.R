# lrn_boost: against the independent R reference (helper-reference-boost.R), closed forms,
# thread-count invariance, seeds, early stopping, objectives, and xgboost's hist method.

boost_data <- function(n = 300, seed = 1, missing = FALSE) {
  set.seed(seed)
  X <- matrix(rnorm(n * 3), n, 3, dimnames = list(NULL, paste0("x", 1:3)))
  if (missing) X[sample(n, 25), 2] <- NA
  y <- sin(2 * X[, 1]) + ifelse(is.na(X[, 2]), 1, X[, 2])^2 / 2 + rnorm(n, sd = 0.3)
  d <- rbinom(n, 1, plogis(X[, 1] - 0.5 * X[, 3]))
  list(X = X, y = y + d, d = d)
}

# The core learner on its own, trained on `train` and predicting every row.
core_boost <- function(X, y, train, weights = NULL, ...) {
  learner <- lrn_boost(seed = 1, ...)
  mask <- integer(nrow(X))
  mask[train] <- 1L
  group <- list(learner = fastdml:::boost_core_spec(learner, y, mask), targets = list(as.double(y)),
                mask = mask, weights = weights)
  out <- fastdml:::.fastdml_fit_predict(X, group, 1L, FALSE)
  list(pred = out[[1]][, 1], rounds = attr(out, "fit_info")[[1]][1])
}

test_that("lrn_boost equals the reference implementation (regression, binary, NA, weights)", {
  dat <- boost_data(missing = TRUE)
  train <- sort(sample(300, 220))
  w <- runif(300, 0.5, 2)
  settings <- list(
    list(objective = "regression"),
    list(objective = "regression", max_depth = 2L, lambda = 0.5, learning_rate = 0.3),
    list(objective = "regression", max_leaves = 5L, min_child_size = 5L, max_bins = 16L),
    list(objective = "binary"),
    list(objective = "binary", max_depth = 3L, max_leaves = 4L, min_child_weight = 0.5))
  for (setting in settings) {
    y <- if (setting$objective == "binary") dat$d else dat$y
    for (weights in list(NULL, w)) {
      args <- c(setting, list(n_rounds = 8L, early_stopping_rounds = 0L))
      ours <- do.call(core_boost, c(list(dat$X, y, train, weights), args))
      ref <- do.call(ref_boost, c(list(dat$X, y, train, seq_len(300), weights = weights),
                                  args[setdiff(names(args), "early_stopping_rounds")]))
      expect_equal(ours$pred, ref$pred, tolerance = 1e-10)
      expect_equal(ours$rounds, 8)
    }
  }
})

test_that("cross-fitted boosting nuisances equal the reference fold by fold", {
  dat <- boost_data(n = 250, seed = 3)
  df <- data.frame(dat$X, y = dat$y, d = dat$d)
  spec <- causal_data(df, "y", "d", c("x1", "x2", "x3"))
  learner <- lrn_boost(n_rounds = 5L, early_stopping_rounds = 0L, max_depth = 3L)
  fit <- dml_irm(spec, learner_outcome = learner, learner_treatment = learner, n_folds = 3,
                 seed = 2)
  folds <- nuisances(fit)$folds[, 1]
  for (k in 1:3) {
    test <- which(folds == k)
    ref_m <- ref_boost(dat$X, dat$d, which(folds != k), test, "binary", n_rounds = 5, max_depth = 3)
    ref_g1 <- ref_boost(dat$X, dat$y, which(folds != k & dat$d == 1), test, "regression",
                        n_rounds = 5, max_depth = 3)
    expect_equal(nuisances(fit)$m[test, 1], ref_m$pred, tolerance = 1e-10)
    expect_equal(nuisances(fit)$g1[test, 1], ref_g1$pred, tolerance = 1e-10)
  }
})

test_that("closed forms: a single leaf is -G/(H + lambda); a stump splits at the step", {
  x <- matrix(seq(0, 1, length.out = 100), ncol = 1, dimnames = list(NULL, "x"))
  y <- as.double(x[, 1] > 0.5)
  one_leaf <- core_boost(x, y * 3 + x[, 1], 1:100, n_rounds = 1L, max_depth = 0L, lambda = 2,
                         learning_rate = 0.5, early_stopping_rounds = 0L)
  target <- y * 3 + x[, 1]
  f0 <- mean(target)
  expect_equal(one_leaf$pred, rep(f0 - 0.5 * sum(f0 - target) / (100 + 2), 100), tolerance = 1e-12)
  stump <- core_boost(x, y, 1:100, objective = "regression", n_rounds = 1L, max_depth = 1L,
                      lambda = 0, learning_rate = 1,
                      min_child_size = 1L, early_stopping_rounds = 0L)
  expect_equal(stump$pred, y, tolerance = 1e-12)
  # binary single leaf: one Newton step from the log-odds of the mean
  d <- as.double(x[, 1] > 0.3)
  leaf <- core_boost(x, d, 1:100, objective = "binary", n_rounds = 1L, max_depth = 0L,
                     lambda = 1, learning_rate = 1, early_stopping_rounds = 0L)
  q <- mean(d)
  step <- -sum(q - d) / (100 * q * (1 - q) + 1)
  expect_equal(leaf$pred, rep(plogis(qlogis(q) + step), 100), tolerance = 1e-12)
})

test_that("softmax: one leaf per class is a Newton step from the log class shares", {
  set.seed(4)
  n <- 120
  X <- matrix(rnorm(n * 2), n, 2)
  cls <- sample(1:3, n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
  targets <- lapply(1:3, function(k) as.double(cls == k))
  spec <- c(list(kind = "boost", ridge = NA_real_, seed = 1), lrn_boost(
    objective = "multiclass", n_rounds = 1L, max_depth = 0L, learning_rate = 1,
    early_stopping_rounds = 0L)$params)
  out <- fastdml:::.fastdml_fit_predict(X, list(learner = spec, targets = targets, mask = NULL), 1L, FALSE)
  share <- tabulate(cls, 3) / n
  raw <- log(share) - sapply(1:3, function(k) sum(share[k] - targets[[k]]) / (n * share[k] * (1 - share[k]) + 1))
  expect_equal(unname(sapply(out, function(p) p[1, 1])), exp(raw) / sum(exp(raw)), tolerance = 1e-12)
  # and with trees: probabilities sum to one, thread-invariant under cross-fitting
  folds <- matrix(rep_len(1:3, n), ncol = 1)
  spec$n_rounds <- 20L
  spec$max_depth <- 2L
  spec$subsample <- 0.7
  one <- fastdml:::.fastdml_crossfit(X, folds, list(list(learner = spec, targets = targets, mask = NULL)), 1L, FALSE)
  two <- fastdml:::.fastdml_crossfit(X, folds, list(list(learner = spec, targets = targets, mask = NULL)), 2L, FALSE)
  expect_equal(Reduce(`+`, one[[1]]), matrix(1, n, 1), tolerance = 1e-12)
  expect_identical(one, two)
})

test_that("boosting fits are bit-identical for 1 and 2 threads and reproducible by seed", {
  df <- make_test_data(n = 600, seed = 5)
  spec <- test_spec(df)
  learner <- lrn_boost(subsample = 0.7, colsample = 0.6, n_rounds = 60L)
  fit1 <- dml_irm(spec, learner_outcome = learner, learner_treatment = learner, seed = 3, num.threads = 1)
  fit2 <- dml_irm(spec, learner_outcome = learner, learner_treatment = learner, seed = 3, num.threads = 2)
  expect_identical(nuisances(fit1)[c("g0", "g1", "m")], nuisances(fit2)[c("g0", "g1", "m")])
  expect_identical(coef(fit1), coef(fit2))
  # the learner's own seed, the fit's seed, and set.seed() all reproduce a fit
  again <- dml_irm(spec, learner_outcome = learner, learner_treatment = learner, seed = 3)
  expect_identical(coef(again), coef(fit1))
  other <- dml_irm(spec, learner_outcome = lrn_boost(subsample = 0.7, colsample = 0.6, n_rounds = 60L, seed = 99),
                   learner_treatment = learner, folds = nuisances(fit1)$folds)
  expect_false(identical(nuisances(other)$g0, nuisances(fit1)$g0))
  set.seed(11)
  a <- dml_plr(spec)
  set.seed(11)
  b <- dml_plr(spec)
  expect_identical(coef(a), coef(b))
})

test_that("the default subsample is all rows up to 1e5 fitting rows, max(30%, 1e5 rows) above", {
  # small fold: the default equals subsample = 1 exactly
  dat <- boost_data(n = 400, seed = 8)
  train <- 1:300
  expect_identical(core_boost(dat$X, dat$y, train, n_rounds = 5L)$pred,
                   core_boost(dat$X, dat$y, train, n_rounds = 5L, subsample = 1)$pred)
  # large folds: the default draws with the share 1e5 / fitting rows, floored at 0.3 (the same
  # draws as that explicit share, so the same fit)
  set.seed(9)
  n <- 400000
  X <- matrix(rnorm(n * 2), n, 2)
  y <- X[, 1] + rnorm(n)
  for (m in c(150000, n)) {  # shares 1e5 / 135000 and 0.3
    rows <- seq_len(m)
    fit_rows <- length(rows) - floor(0.1 * length(rows))
    share <- min(1, max(0.3, 1e5 / fit_rows))
    auto <- core_boost(X, y, rows, n_rounds = 3L, max_depth = 2L)$pred
    expect_identical(auto, core_boost(X, y, rows, n_rounds = 3L, max_depth = 2L, subsample = share)$pred)
    expect_false(identical(auto, core_boost(X, y, rows, n_rounds = 3L, max_depth = 2L, subsample = 1)$pred))
  }
  expect_error(lrn_boost(subsample = 0), class = "fastdml_error_argument")
})

test_that("early stopping adapts the rounds per fold and reports them", {
  set.seed(6)
  n <- 800
  df <- data.frame(x1 = rnorm(n), x2 = rnorm(n), d = rnorm(n))
  df$y <- df$d + rnorm(n)  # nothing to learn from x: few rounds
  fit <- dml_plr(causal_data(df, "y", "d", c("x1", "x2")), seed = 1)
  q <- nuisances(fit)$quality
  by_fold <- q[!is.na(q$fold)]
  expect_true(all(by_fold$rounds >= 0 & by_fold$rounds < 100))
  expect_equal(q$rounds[is.na(q$fold)], tapply(by_fold$rounds, factor(by_fold$nuisance, unique(q$nuisance)), mean),
               ignore_attr = TRUE)
  signal <- make_test_data(n = 800, seed = 7)
  rich <- dml_plr(test_spec(signal), seed = 1)
  rounds <- nuisances(rich)$quality
  expect_gt(min(rounds$rounds[rounds$nuisance == "l"]), 10)
  linear <- dml_plr(test_spec(signal), lrn_linear(), lrn_linear(), seed = 1)
  expect_true(all(is.na(nuisances(linear)$quality$rounds)))
})

test_that("objective auto: probabilities for 0/1 targets; binary objective refuses others", {
  df <- make_test_data(n = 500, seed = 8)
  df$y <- as.double(df$y > median(df$y))
  fit <- dml_irm(test_spec(df), seed = 1)
  p <- nuisances(fit)
  for (name in c("g0", "g1", "m")) expect_true(all(p[[name]] > 0 & p[[name]] < 1))
  expect_false(is.na(nuisances(fit)$quality$log_loss[1]))
  continuous <- make_test_data(n = 300, seed = 9)
  expect_error(dml_plr(test_spec(continuous), learner_outcome = lrn_boost(objective = "binary")),
               class = "fastdml_error_learner")
  expect_error(dml_plr(test_spec(continuous), learner_outcome = lrn_boost(objective = "multiclass")),
               "several treatment arms", class = "fastdml_error_learner")
})

test_that("lrn_boost validates its arguments with classed errors", {
  expect_error(lrn_boost(max_bins = 300), class = "fastdml_error_argument")
  expect_error(lrn_boost(max_leaves = 1), class = "fastdml_error_argument")
  expect_error(lrn_boost(learning_rate = 0), class = "fastdml_error_argument")
  expect_error(lrn_boost(subsample = 1.5), class = "fastdml_error_argument")
  expect_error(lrn_boost(validation_fraction = 0.7), class = "fastdml_error_argument")
  expect_error(lrn_boost(objective = "poisson"), class = "fastdml_error_argument")
  expect_error(lrn_boost(seed = -1), class = "fastdml_error_argument")
  expect_output(print(lrn_boost()), "boost\\(31 leaves, early stopping\\)")
})

test_that("boosting beats linear nuisances on a non-linear confounded design", {
  set.seed(10)
  n <- 3000
  x <- matrix(runif(n * 4, -2, 2), n, 4, dimnames = list(NULL, paste0("x", 1:4)))
  confounder <- sin(2 * x[, 1]) + (x[, 2] > 0) + x[, 3] * x[, 4] / 2
  d <- confounder + rnorm(n, sd = 0.7)
  y <- 0.5 * d + 2 * confounder + rnorm(n)
  spec <- causal_data(data.frame(x, d = d, y = y), "y", "d", paste0("x", 1:4))
  boost <- dml_plr(spec, seed = 1)
  linear <- dml_plr(spec, lrn_linear(), lrn_linear(), seed = 1)
  expect_lt(abs(coef(boost) - 0.5), 4 * boost$se)
  expect_gt(abs(coef(linear) - 0.5), 10 * linear$se)
})

test_that("lrn_boost matches xgboost's hist method in out-of-sample loss (within 2%)", {
  skip_if_not_installed("xgboost")
  problems <- list(
    friedman = function(n) {
      x <- matrix(runif(n * 6), n, 6)
      list(x = x, y = 10 * sin(pi * x[, 1] * x[, 2]) + 20 * (x[, 3] - 0.5)^2 + 10 * x[, 4] + 5 * x[, 5] + rnorm(n),
           objective = "regression")
    },
    steps = function(n) {
      x <- matrix(rnorm(n * 5), n, 5)
      list(x = x, y = 2 * (x[, 1] > 0) - 1.5 * (x[, 2] > 0.5) * x[, 3] + rnorm(n), objective = "regression")
    },
    logistic = function(n) {
      x <- matrix(rnorm(n * 5), n, 5)
      list(x = x, y = rbinom(n, 1, plogis(x[, 1] - x[, 2]^2 + x[, 3] * x[, 4])), objective = "binary")
    })
  for (name in names(problems)) {
    set.seed(12)
    dat <- problems[[name]](6000)
    train <- 1:4000
    test <- 4001:6000
    ours <- core_boost(dat$x, dat$y, train, objective = dat$objective, n_rounds = 100L,
                       learning_rate = 0.1, max_depth = 4L, max_leaves = 0L, lambda = 1,
                       min_child_weight = 1, min_child_size = 1L, max_bins = 256L,
                       early_stopping_rounds = 0L)$pred[test]
    params <- list(objective = if (dat$objective == "binary") "binary:logistic" else "reg:squarederror",
                   eta = 0.1, max_depth = 4, lambda = 1, min_child_weight = 1, tree_method = "hist",
                   max_bin = 256, nthread = 1, base_score = if (dat$objective == "binary") 0.5 else mean(dat$y[train]))
    booster <- xgboost::xgb.train(params, xgboost::xgb.DMatrix(dat$x[train, ], label = dat$y[train]),
                                  nrounds = 100, verbose = 0)
    theirs <- predict(booster, dat$x[test, ])
    loss <- function(p) {
      if (dat$objective == "binary") -mean(dat$y[test] * log(p) + (1 - dat$y[test]) * log(1 - p))
      else sqrt(mean((dat$y[test] - p)^2))
    }
    expect_lt(loss(ours), 1.02 * loss(theirs), label = name)
  }
})

test_that("the C++ cross-fit reports progress to the main thread; fastdml.progress turns the bar off", {
  set.seed(13)
  n <- 2000
  X <- matrix(rnorm(n * 4), n, 4)
  y <- X[, 1] + rnorm(n)
  folds <- matrix(rep_len(1:5, n), ncol = 1)
  spec <- c(list(kind = "boost", ridge = NA_real_, seed = 1), lrn_boost(n_rounds = 40L)$params)
  seen <- NULL
  record <- function(done, total) seen <<- rbind(seen, c(done, total))
  groups <- lapply(1:3, function(i) list(learner = spec, targets = list(y), mask = NULL))
  out <- fastdml:::.fastdml_crossfit(X, folds, groups, 1L, FALSE, record)
  expect_true(nrow(seen) >= 1)
  expect_true(all(seen[, 2] == 15))
  expect_true(all(diff(seen[, 1]) >= 0) && all(seen[, 1] <= 15))
  silent <- fastdml:::.fastdml_crossfit(X, folds, groups, 1L, FALSE, NULL)
  expect_identical(silent, out)
  withr_off <- options(fastdml.progress = FALSE)
  on.exit(options(withr_off), add = TRUE)
  tick <- fastdml:::progress_ticker(10)
  expect_null(tick(3))
})

test_that("baselines run lrn_boost on all rows, reproducibly under set.seed()", {
  df <- make_test_data(n = 300, seed = 15)
  spec <- test_spec(df)
  set.seed(2)
  a <- ipw(spec, learner = lrn_boost(n_rounds = 20L))
  set.seed(2)
  b <- ipw(spec, learner = lrn_boost(n_rounds = 20L))
  expect_identical(coef(a), coef(b))
  tl <- t_learner(spec, learner = lrn_boost(n_rounds = 20L, seed = 1))
  expect_true(is.finite(coef(tl)))
  expect_identical(coef(tl), coef(t_learner(spec, learner = lrn_boost(n_rounds = 20L, seed = 1))))
})
