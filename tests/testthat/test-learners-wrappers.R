# Wrappers of other packages' models (R/learners-wrappers.R): each must give, through dml_plr()
# / dml_irm(), exactly the out-of-fold predictions of a hand-written loop calling the package on
# the same folds (nuisances(fit)$folds). Nuisance rows: PLR l, m on all training rows; IRM g0
# on the training controls, g1 on the training treated, m on all.

# Out-of-fold predictions of fit_predict(x_train, y_train, x_test) fold by fold, training on
# the rows where `rows` is TRUE.
hand_crossfit <- function(X, y, folds, fit_predict, rows = rep(TRUE, length(y))) {
  out <- numeric(length(y))
  for (k in sort(unique(folds))) {
    train <- folds != k & rows
    test <- folds == k
    out[test] <- fit_predict(X[train, , drop = FALSE], y[train], X[test, , drop = FALSE])
  }
  out
}

# IRM nuisances (g0, g1, m) of a fit against hand_crossfit with outcome / propensity functions.
expect_irm_matches_hand <- function(fit, df, outcome_fp, treatment_fp, tol = 1e-10) {
  nu <- nuisances(fit)
  X <- X_of(df)
  folds <- nu$folds[, 1]
  expect_equal(nu$g0[, 1], hand_crossfit(X, df$y, folds, outcome_fp, df$d == 0), tolerance = tol)
  expect_equal(nu$g1[, 1], hand_crossfit(X, df$y, folds, outcome_fp, df$d == 1), tolerance = tol)
  expect_equal(nu$m[, 1], hand_crossfit(X, df$d, folds, treatment_fp), tolerance = tol)
  expect_true(all(nu$m >= 0 & nu$m <= 1))
  expect_true(is.finite(coef(fit)) && is.finite(fit$se))
}

# Fits muffling the fit-time quality warnings small forests may trigger on small data.
quiet_fit <- function(code) collect_warnings(code)$value

test_that("lrn_ranger equals ranger fold by fold (regression and probability forests)", {
  skip_if_not_installed("ranger")
  df <- make_test_data(n = 300, seed = 11)
  spec <- test_spec(df)
  fit <- quiet_fit(dml_irm(spec, learner_outcome = lrn_ranger(num.trees = 50, seed = 3),
                           learner_treatment = lrn_ranger(num.trees = 50, seed = 3),
                           n_folds = 3, seed = 1))
  expect_s3_class(fit, "dml_irm")
  expect_true(all(fit$learners == "ranger"))
  outcome <- function(x, y, newx) {
    model <- ranger::ranger(x = x, y = y, num.trees = 50, num.threads = 1, seed = 3)
    predict(model, data = newx, num.threads = 1)$predictions
  }
  treatment <- function(x, y, newx) {
    model <- ranger::ranger(x = x, y = factor(y, levels = c(0, 1)), num.trees = 50,
                            num.threads = 1, probability = TRUE, seed = 3)
    predict(model, data = newx, num.threads = 1)$predictions[, "1"]
  }
  expect_irm_matches_hand(fit, df, outcome, treatment)
  plr <- quiet_fit(dml_plr(spec, learner_outcome = lrn_ranger(num.trees = 50, seed = 3),
                           learner_treatment = lrn_linear(), folds = nuisances(fit)$folds))
  expect_equal(nuisances(plr)$l[, 1],
               hand_crossfit(X_of(df), df$y, nuisances(fit)$folds[, 1], outcome), tolerance = 1e-10)
})

test_that("lrn_xgboost equals xgb.train fold by fold (squared error and binary:logistic)", {
  skip_if_not_installed("xgboost")
  df <- make_test_data(n = 300, seed = 12)
  spec <- test_spec(df)
  learner <- lrn_xgboost(nrounds = 20, max_depth = 3)
  fit <- quiet_fit(dml_irm(spec, learner_outcome = learner, learner_treatment = learner,
                           n_folds = 3, seed = 2))
  xgb <- function(objective) {
    function(x, y, newx) {
      model <- xgboost::xgb.train(
        params = list(objective = objective, max_depth = 3, eta = 0.1, nthread = 1,
                      tree_method = "hist"),
        data = xgboost::xgb.DMatrix(x, label = y, nthread = 1), nrounds = 20, verbose = 0)
      predict(model, xgboost::xgb.DMatrix(newx, nthread = 1))
    }
  }
  expect_irm_matches_hand(fit, df, xgb("reg:squarederror"), xgb("binary:logistic"))
  # Parameters in ... reach xgb.train's params, its own arguments reach xgb.train.
  shallow <- quiet_fit(dml_irm(spec, learner_outcome = lrn_xgboost(nrounds = 20, max_depth = 3,
                                                                   min_child_weight = 50),
                               learner_treatment = learner, folds = nuisances(fit)$folds))
  expect_false(isTRUE(all.equal(nuisances(shallow)$g0, nuisances(fit)$g0)))
  expect_equal(nuisances(shallow)$m, nuisances(fit)$m, tolerance = 1e-12)
})

test_that("lrn_glmnet equals cv.glmnet with the same inner folds (gaussian and binomial)", {
  skip_if_not_installed("glmnet")
  df <- make_test_data(n = 300, p = 6, seed = 13)
  spec <- test_spec(df)
  fit <- quiet_fit(dml_irm(spec, learner_outcome = lrn_glmnet(seed = 5),
                           learner_treatment = lrn_glmnet(alpha = 0.5, s = "lambda.1se", seed = 5),
                           n_folds = 3, seed = 3))
  cv <- function(family, alpha, s) {
    function(x, y, newx) {
      set.seed(5)
      foldid <- sample(rep_len(1:5, nrow(x)))
      model <- glmnet::cv.glmnet(x, y, family = family, alpha = alpha, foldid = foldid)
      predict(model, newx = newx, s = s, type = "response")[, 1]
    }
  }
  expect_irm_matches_hand(fit, df, cv("gaussian", 1, "lambda.min"), cv("binomial", 0.5, "lambda.1se"))
  # Without a seed the inner folds come from R's stream, as for cv.glmnet itself.
  folds <- nuisances(fit)$folds
  set.seed(9)
  plr <- quiet_fit(dml_plr(spec, learner_outcome = lrn_glmnet(), learner_treatment = lrn_linear(),
                           folds = folds))
  set.seed(9)
  ref <- hand_crossfit(X_of(df), df$y, folds[, 1], function(x, y, newx) {
    model <- glmnet::cv.glmnet(x, y, foldid = sample(rep_len(1:5, nrow(x))))
    predict(model, newx = newx, s = "lambda.min")[, 1]
  })
  expect_equal(nuisances(plr)$l[, 1], ref, tolerance = 1e-10)
})

test_that("lrn_grf equals regression_forest / probability_forest fold by fold", {
  skip_if_not_installed("grf")
  df <- make_test_data(n = 300, seed = 14)
  spec <- test_spec(df)
  fit <- quiet_fit(dml_irm(spec, learner_outcome = lrn_grf(num.trees = 50, seed = 4),
                           learner_treatment = lrn_grf(num.trees = 50, seed = 4),
                           n_folds = 3, seed = 4))
  outcome <- function(x, y, newx) {
    model <- grf::regression_forest(x, y, num.trees = 50, num.threads = 1, seed = 4)
    predict(model, newx)$predictions
  }
  treatment <- function(x, y, newx) {
    model <- grf::probability_forest(x, factor(y, levels = c(0, 1)), num.trees = 50,
                                     num.threads = 1, seed = 4)
    predict(model, newx)$predictions[, "1"]
  }
  expect_irm_matches_hand(fit, df, outcome, treatment)
})

test_that("lrn_mlr3 equals mlr3 train/predict fold by fold, keys follow the target", {
  skip_if_not_installed("mlr3")
  skip_if_not_installed("mlr3learners")
  skip_if_not_installed("ranger")
  df <- make_test_data(n = 300, seed = 15)
  spec <- test_spec(df)
  fit <- quiet_fit(dml_irm(spec, learner_outcome = lrn_mlr3("regr.ranger", num.trees = 50, seed = 6),
                           learner_treatment = lrn_mlr3("regr.ranger", num.trees = 50, seed = 6),
                           n_folds = 3, seed = 5))
  expect_true(all(fit$learners == "regr.ranger"))
  mlr3_fp <- function(key) {
    function(x, y, newx) {
      learner <- mlr3::lrn(key, num.trees = 50, seed = 6, num.threads = 1)
      data <- data.table::as.data.table(x)
      if (startsWith(key, "classif")) {
        learner$predict_type <- "prob"
        data$.target <- factor(y, levels = c(0, 1))
        learner$train(mlr3::TaskClassif$new("ref", data, target = ".target", positive = "1"))
        learner$predict_newdata(data.table::as.data.table(newx))$prob[, "1"]
      } else {
        data$.target <- y
        learner$train(mlr3::TaskRegr$new("ref", data, target = ".target"))
        learner$predict_newdata(data.table::as.data.table(newx))$response
      }
    }
  }
  # The key "regr.ranger" fits classif.ranger (probabilities) for the 0/1 treatment.
  expect_irm_matches_hand(fit, df, mlr3_fp("regr.ranger"), mlr3_fp("classif.ranger"))

  # Learner objects: a classifier gets predict_type "prob" on a clone; the user's object is
  # untouched. It is the same model as the key.
  classif <- mlr3::lrn("classif.ranger", num.trees = 50, seed = 6)
  obj <- quiet_fit(dml_irm(spec, learner_outcome = lrn_mlr3("regr.ranger", num.trees = 50, seed = 6),
                           learner_treatment = lrn_mlr3(classif), folds = nuisances(fit)$folds))
  expect_identical(classif$predict_type, "response")
  expect_equal(nuisances(obj)$m, nuisances(fit)$m, tolerance = 1e-12)
  # A regression object on a 0/1 target is a regression (E[D | X], here within [0, 1]).
  regr <- mlr3::lrn("regr.ranger", num.trees = 50, seed = 6)
  plr <- quiet_fit(dml_plr(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_mlr3(regr),
                           folds = nuisances(fit)$folds))
  expect_equal(nuisances(plr)$m[, 1],
               hand_crossfit(X_of(df), df$d, nuisances(fit)$folds[, 1], mlr3_fp("regr.ranger")),
               tolerance = 1e-10)
  # A classification object for a continuous target fails with a named learner error.
  expect_error(dml_plr(spec, learner_outcome = lrn_mlr3(classif), folds = nuisances(fit)$folds),
               class = "fastdml_error_learner")
  expect_error(lrn_mlr3("regr.no_such_learner"), class = "fastdml_error_argument")
  expect_error(lrn_mlr3("regr.ranger", no_such_param = 1), class = "fastdml_error_argument")
  expect_error(lrn_mlr3(42), class = "fastdml_error_argument")
})

test_that("wrappers validate their arguments at construction", {
  skip_if_not_installed("ranger")
  skip_if_not_installed("glmnet")
  expect_error(lrn_ranger(num.trees = 0), class = "fastdml_error_argument")
  expect_error(lrn_ranger(probability = TRUE), "sets", class = "fastdml_error_argument")
  expect_error(lrn_ranger(num.trees = 50, 100), "must be named", class = "fastdml_error_argument")
  expect_error(lrn_ranger(name = ""), class = "fastdml_error_argument")
  expect_error(lrn_glmnet(alpha = 2), class = "fastdml_error_argument")
  expect_error(lrn_glmnet(s = "lambda.max"), class = "fastdml_error_argument")
  expect_error(lrn_glmnet(nfolds = 2), class = "fastdml_error_argument")
  expect_error(lrn_glmnet(family = "poisson"), class = "fastdml_error_argument")
  expect_output(print(lrn_ranger(num.trees = 10)), "ranger (R, fold by fold)", fixed = TRUE)
})

test_that("wrappers predict a constant training target without calling the package", {
  skip_if_not_installed("glmnet")
  learner <- lrn_glmnet()
  x <- matrix(rnorm(100), 50, 2, dimnames = list(NULL, c("a", "b")))
  expect_identical(learner$predict(learner$fit(x, rep(1, 50)), x[1:3, ]), rep(1, 3))
  expect_identical(learner$predict(learner$fit(x, rep(0, 50)), x[1:3, ]), rep(0, 3))
  # and glmnet works with a single covariate (a zero column is added for it)
  y <- x[, 1] + rnorm(50, sd = 0.1)
  one <- learner$fit(x[, 1, drop = FALSE], y)
  expect_length(learner$predict(one, x[1:4, 1, drop = FALSE]), 4L)
})

test_that("a missing package is a classed error naming the install", {
  err <- expect_error(fastdml:::need_package("fastdmlNoSuchPackage", "lrn_ranger"),
                      class = "fastdml_error_package")
  expect_match(conditionMessage(err), "fastdmlNoSuchPackage", fixed = TRUE)
  expect_match(conditionMessage(err), 'install.packages("fastdmlNoSuchPackage")', fixed = TRUE)
  expect_invisible(fastdml:::need_package("stats", "lrn_ranger"))
})

test_that("bad custom learners give named learner errors", {
  df <- make_test_data(n = 200, seed = 16)
  spec <- test_spec(df)
  folds <- make_folds(spec, 2, seed = 1)
  short <- lrn_custom(function(x, y) mean(y), function(model, x) rep(model, nrow(x) - 1), name = "short")
  with_na <- lrn_custom(function(x, y) mean(y), function(model, x) c(NA, rep(model, nrow(x) - 1)),
                        name = "with_na")
  labels <- lrn_custom(function(x, y) NULL, function(model, x) factor(rep(c(0, 1), length.out = nrow(x))),
                       name = "labels")
  chars <- lrn_custom(function(x, y) NULL, function(model, x) rep("1", nrow(x)), name = "chars")
  expect_error(dml_plr(spec, learner_outcome = short, folds = folds),
               "short.*returned 99 predictions", class = "fastdml_error_learner")
  expect_error(dml_plr(spec, learner_outcome = with_na, folds = folds),
               "1 non-finite", class = "fastdml_error_learner")
  expect_error(dml_irm(spec, learner_treatment = labels, folds = folds),
               "factor", class = "fastdml_error_learner")
  expect_error(dml_irm(spec, learner_treatment = chars, folds = folds),
               "character", class = "fastdml_error_learner")
})
