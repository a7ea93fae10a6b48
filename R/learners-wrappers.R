#' Learners from other R packages
#'
#' Ready-made [lrn_custom()] learners for popular model packages: random forests (ranger and
#' grf), gradient boosting (xgboost), the cross-validated lasso / elastic net (glmnet) and any
#' mlr3 learner (as used by DoubleML). They run fold by fold from R on the same folds as the
#' built-in learners, and their output is checked the same way (one finite number per row;
#' errors name the nuisance, fold and repetition). The packages are suggested, not required:
#' a wrapper whose package is missing is an error of class `fastdml_error_package` when it is
#' created.
#'
#' **Classification or regression.** Each fit looks at its training target: when every value is
#' 0 or 1 (a binary treatment for the propensity, or a binary outcome) it fits a classifier and
#' predicts the probability of 1 (`ranger(probability = TRUE)`, xgboost `binary:logistic`,
#' glmnet `family = "binomial"` with `type = "response"`, [grf::probability_forest()], an mlr3
#' classification learner with `predict_type = "prob"`); otherwise a regression. For a 0/1
#' target the two estimate the same quantity, E\[Y | X\] = P(Y = 1 | X), so a nuisance never
#' changes meaning between folds. A training target with a single value gives a constant
#' prediction (that value) without calling the package.
#'
#' **Arguments.** Arguments in `...` go to the fitting function (`ranger::ranger()`,
#' `xgboost::xgb.train()` (its own arguments such as `early_stopping_rounds`, or its `params`
#' otherwise), `glmnet::cv.glmnet()`, `grf::regression_forest()` / `grf::probability_forest()`,
#' or the parameters of the mlr3 learner(s)); the arguments the wrapper sets itself (the data,
#' the family or objective, which follow from the target) cannot be given there.
#'
#' **Threads.** fastdml runs the folds of an R learner one after the other, so every model uses
#' one thread by default; raise `num.threads` (ranger, grf, mlr3) or `nthread` (xgboost) to
#' let each model use more.
#'
#' **Randomness.** `dml_plr(seed = )` and `dml_irm(seed = )` seed only the folds; the models
#' draw from R's random number stream as it stands when they are fitted (ranger and grf draw
#' their seed from it, xgboost's row and column subsampling use it, the inner cross-validation
#' folds of glmnet are drawn from it). Call [set.seed()] before the fit to reproduce it, or fix
#' each model: `lrn_ranger(seed = 1)`, `lrn_grf(seed = 1)`, `lrn_glmnet(seed = 1)` (then every
#' training fold uses that seed). xgboost without subsampling is deterministic.
#'
#' **lrn_glmnet.** [glmnet::cv.glmnet()] chooses the penalty inside each training fold, with
#' `nfolds` inner folds drawn as `sample(rep_len(1:nfolds, n))`; `s` is `"lambda.min"`,
#' `"lambda.1se"` or a penalty value. With a single covariate a zero column is added (glmnet
#' needs two).
#'
#' **lrn_mlr3.** `learner` is an mlr3 `Learner` or a key of `mlr3::mlr_learners` (a key from
#' mlr3learners, such as `"regr.ranger"`, loads that package when it is installed). With a key,
#' the learner follows the target: `"regr.<name>"` for a continuous target and
#' `"classif.<name>"` for a 0/1 target, whichever prefix (or none, `"ranger"`) was given. When
#' only the regression learner exists it serves both (on a 0/1 target it predicts
#' E\[Y | X\]); when only the classification learner exists a continuous target is an error
#' of class `fastdml_error_learner` at fit time. A learner object is used as
#' given (a clone, the object is never modified): a classification learner gets
#' `predict_type = "prob"` (DoubleML users often leave it at `"response"`) and is an error for
#' a target that is not 0/1; a regression learner is used for every target, including a 0/1
#' one, where its predictions estimate the probability but may leave \[0, 1\] (e.g.
#' `"regr.lm"`; [dml_irm()] then clips them with a warning); pass a classification learner as
#' `learner_treatment` of [dml_irm()] for calibrated propensities. Parameters in `...` are set
#' on the learner(s); `num.threads` is applied with [mlr3::set_threads()] (`NULL` leaves the
#' learner's own setting).
#'
#' @param num.trees Number of trees.
#' @param nrounds Number of boosting rounds.
#' @param max_depth Maximum depth of a tree.
#' @param eta Learning rate (> 0).
#' @param alpha Elastic-net mixing: 1 is the lasso, 0 ridge.
#' @param s Penalty used for predictions: `"lambda.min"`, `"lambda.1se"` or a number >= 0.
#' @param nfolds Number of inner cross-validation folds of `cv.glmnet()` (>= 3).
#' @param seed For `lrn_glmnet()`: optional seed of the inner folds, used in every training fold
#'   (`set.seed` semantics; the caller's RNG state is restored). `NULL` draws from R's stream.
#' @param learner An mlr3 `Learner` object or a key string such as `"regr.ranger"`.
#' @param ... Further arguments to the fitting function, see Details.
#' @param num.threads,nthread Threads per model (default 1).
#' @param name A short label shown in printed results (`lrn_mlr3()`: the learner's id by
#'   default).
#' @return A `fastdml_learner` object (an R learner, like [lrn_custom()]).
#' @family learners
#' @examples
#' df <- sim_lesson(n = 200, seed = 1)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' if (requireNamespace("ranger", quietly = TRUE)) {
#'   fit <- dml_irm(spec, learner_outcome = lrn_ranger(num.trees = 50, seed = 1),
#'                  learner_treatment = lrn_ranger(num.trees = 50, seed = 1),
#'                  n_folds = 2, seed = 1)
#'   coef(fit)
#' }
#' if (requireNamespace("glmnet", quietly = TRUE)) {
#'   coef(dml_plr(spec, learner_outcome = lrn_glmnet(seed = 1),
#'                learner_treatment = lrn_glmnet(seed = 1), n_folds = 2, seed = 1))
#' }
#' if (requireNamespace("xgboost", quietly = TRUE)) {
#'   coef(dml_plr(spec, learner_outcome = lrn_xgboost(nrounds = 20, max_depth = 3),
#'                n_folds = 2, seed = 1))
#' }
#' if (requireNamespace("grf", quietly = TRUE)) {
#'   lrn_grf(num.trees = 100, seed = 1)
#' }
#' if (requireNamespace("mlr3", quietly = TRUE) &&
#'     requireNamespace("mlr3learners", quietly = TRUE) &&
#'     requireNamespace("ranger", quietly = TRUE)) {
#'   lrn_mlr3("regr.ranger", num.trees = 50)
#' }
#' @name lrn_ranger
NULL

#' @rdname lrn_ranger
#' @export
lrn_ranger <- function(num.trees = 500, ..., num.threads = 1, name = "ranger") {
  need_package("ranger", "lrn_ranger")
  check_count(num.trees, "num.trees", 1L)
  check_count(num.threads, "num.threads", 1L)
  dots <- wrapper_dots(list(...), "lrn_ranger",
                       c("x", "y", "formula", "data", "dependent.variable.name", "probability",
                         "classification"))
  wrapper_learner(name,
    fit = function(x, y, binary) {
      target <- if (binary) factor(y, levels = c(0, 1)) else y
      call_with(quote(ranger::ranger),
                c(list(x = quote(x), y = quote(target), num.trees = num.trees,
                       num.threads = num.threads, probability = binary), dots))
    },
    predict = function(model, x, binary) {
      p <- stats::predict(model, data = x, num.threads = num.threads)$predictions
      if (binary) p[, "1"] else p
    })
}

#' @rdname lrn_ranger
#' @export
lrn_xgboost <- function(nrounds = 200, max_depth = 6, eta = 0.1, ..., nthread = 1,
                        name = "xgboost") {
  need_package("xgboost", "lrn_xgboost", install = if (getRversion() < "4.3.0") {
    paste0('install.packages("https://cran.r-project.org/src/contrib/Archive/xgboost/',
           'xgboost_1.7.8.1.tar.gz", repos = NULL, type = "source")')
  })
  check_count(nrounds, "nrounds", 1L)
  check_count(max_depth, "max_depth", 1L)
  check_number(eta, "eta", 0, Inf)
  check_count(nthread, "nthread", 1L)
  dots <- wrapper_dots(list(...), "lrn_xgboost",
                       c("data", "label", "objective", "nrounds", "params", "nthread"))
  train_args <- names(dots) %in% setdiff(names(formals(xgboost::xgb.train)), "...")
  params <- utils::modifyList(list(max_depth = max_depth, eta = eta, nthread = nthread,
                                   tree_method = "hist"), dots[!train_args])
  train_dots <- utils::modifyList(list(verbose = 0), dots[train_args])
  wrapper_learner(name,
    fit = function(x, y, binary) {
      data <- xgboost::xgb.DMatrix(x, label = y, nthread = nthread)
      objective <- if (binary) "binary:logistic" else "reg:squarederror"
      call_with(quote(xgboost::xgb.train),
                c(list(params = c(list(objective = objective), params), data = quote(data),
                       nrounds = nrounds), train_dots))
    },
    predict = function(model, x, binary) {
      stats::predict(model, xgboost::xgb.DMatrix(x, nthread = nthread))
    })
}

#' @rdname lrn_ranger
#' @export
lrn_glmnet <- function(alpha = 1, s = "lambda.min", nfolds = 5, ..., seed = NULL,
                       name = "glmnet") {
  need_package("glmnet", "lrn_glmnet")
  check_number(alpha, "alpha", 0, 1, open = FALSE)
  if (!(is.character(s) && length(s) == 1L && s %in% c("lambda.min", "lambda.1se")) &&
      !(is.numeric(s) && length(s) == 1L && is.finite(s) && s >= 0)) {
    fd_abort("argument", "{.arg s} must be {.val lambda.min}, {.val lambda.1se} or a number >= 0, not {.val {format_value(s)}}.")
  }
  check_count(nfolds, "nfolds", 3L)
  if (!is.null(seed)) with_seed(seed, NULL)
  dots <- wrapper_dots(list(...), "lrn_glmnet", c("x", "y", "family", "foldid", "nfolds"))
  wrapper_learner(name,
    fit = function(x, y, binary) {
      if (ncol(x) == 1L) x <- cbind(x, .zero = 0)
      foldid <- with_seed(seed, sample(rep_len(seq_len(nfolds), nrow(x))))
      call_with(quote(glmnet::cv.glmnet),
                c(list(x = quote(x), y = quote(y), family = if (binary) "binomial" else "gaussian",
                       alpha = alpha, nfolds = nfolds, foldid = quote(foldid)), dots))
    },
    predict = function(model, x, binary) {
      if (ncol(x) == 1L) x <- cbind(x, .zero = 0)
      stats::predict(model, newx = x, s = s, type = "response")[, 1L]
    })
}

#' @rdname lrn_ranger
#' @export
lrn_grf <- function(num.trees = 500, ..., num.threads = 1, name = "grf") {
  need_package("grf", "lrn_grf")
  check_count(num.trees, "num.trees", 1L)
  check_count(num.threads, "num.threads", 1L)
  dots <- wrapper_dots(list(...), "lrn_grf", c("X", "Y"))
  wrapper_learner(name,
    fit = function(x, y, binary) {
      if (binary) {
        target <- factor(y, levels = c(0, 1))
        fun <- quote(grf::probability_forest)
      } else {
        target <- y
        fun <- quote(grf::regression_forest)
      }
      call_with(fun, c(list(X = quote(x), Y = quote(target), num.trees = num.trees,
                            num.threads = num.threads), dots))
    },
    predict = function(model, x, binary) {
      p <- stats::predict(model, newdata = x, num.threads = num.threads)$predictions
      if (binary) p[, "1"] else p
    })
}

#' @rdname lrn_ranger
#' @export
lrn_mlr3 <- function(learner, ..., num.threads = 1, name = NULL) {
  need_package("mlr3", "lrn_mlr3")
  if (!is.null(num.threads)) check_count(num.threads, "num.threads", 1L)
  params <- list(...)
  if (length(params) && (is.null(names(params)) || any(!nzchar(names(params))))) {
    fd_abort("argument", "The arguments in {.arg ...} of {.fn lrn_mlr3} must be named learner parameters.")
  }
  learners <- mlr3_learners(learner)
  learners <- lapply(learners, function(l) {
    if (is.null(l)) return(NULL)
    for (pkg in setdiff(l$packages, "mlr3")) need_package(pkg, "lrn_mlr3")
    if (length(params)) {
      unknown <- setdiff(names(params), l$param_set$ids())
      if (length(unknown)) {
        fd_abort("argument", c("The mlr3 learner {.val {l$id}} has no parameter{?s} {.field {unknown}}.",
                               i = "See {.code mlr3::lrn(\"{l$id}\")$param_set}."))
      }
      l$param_set$values <- utils::modifyList(l$param_set$values, params)
    }
    if (!is.null(num.threads)) mlr3::set_threads(l, num.threads)
    if (inherits(l, "LearnerClassif")) {
      if (!"prob" %in% l$predict_types) {
        fd_abort("argument", c("The mlr3 learner {.val {l$id}} cannot predict probabilities.",
                               i = "fastdml needs P(Y = 1 | X) from a classifier; choose one with {.code predict_type = \"prob\"}."))
      }
      l$predict_type <- "prob"
    }
    l
  })
  if (is.null(name)) name <- (if (is.character(learner)) learner else learner$id)
  wrapper_learner(name,
    fit = function(x, y, binary) {
      l <- if (binary && !is.null(learners$classif)) learners$classif else learners$regr
      if (is.null(l)) {
        stop(sprintf("%s is a classification learner but the target is not 0/1; use a regression learner.",
                     learners$classif$id), call. = FALSE)
      }
      l <- l$clone(deep = TRUE)
      data <- mlr3_frame(x)
      if (inherits(l, "LearnerClassif")) {
        data$.target <- factor(y, levels = c(0, 1))
        task <- mlr3::TaskClassif$new("fastdml", data, target = ".target", positive = "1")
      } else {
        data$.target <- as.double(y)
        task <- mlr3::TaskRegr$new("fastdml", data, target = ".target")
      }
      l$train(task)
      l
    },
    predict = function(model, x, binary) {
      pred <- model$predict_newdata(mlr3_frame(x))
      if (inherits(model, "LearnerClassif")) pred$prob[, "1"] else pred$response
    })
}

# The regression and classification learners of lrn_mlr3(): list(regr, classif), either NULL.
mlr3_learners <- function(learner) {
  if (inherits(learner, "Learner")) {
    l <- learner$clone(deep = TRUE)
    if (inherits(l, "LearnerClassif")) return(list(regr = NULL, classif = l))
    if (inherits(l, "LearnerRegr")) return(list(regr = l, classif = NULL))
    fd_abort("argument", c("{.arg learner} must be an mlr3 regression or classification learner.",
                           x = "It is a {.cls {class(learner)}}."))
  }
  if (!is.character(learner) || length(learner) != 1L || is.na(learner) || !nzchar(learner)) {
    fd_abort("argument", c("{.arg learner} must be an mlr3 {.cls Learner} or a key such as {.val regr.ranger}.",
                           x = "It is {.val {format_value(learner)}}."))
  }
  base <- sub("^(regr|classif)\\.", "", learner)
  keys <- c(regr = paste0("regr.", base), classif = paste0("classif.", base))
  # Loading mlr3learners registers its learners (regr.ranger, classif.xgboost, ...).
  if (!any(keys %in% mlr3::mlr_learners$keys())) requireNamespace("mlr3learners", quietly = TRUE)
  found <- keys %in% mlr3::mlr_learners$keys()
  if (!any(found)) {
    fd_abort("argument", c("{.val {learner}} is not a key of {.code mlr3::mlr_learners}.",
                           i = "Keys such as {.val regr.ranger} need the {.pkg mlr3learners} package; others come from {.pkg mlr3extralearners}."))
  }
  lapply(stats::setNames(keys, names(keys)), function(key) {
    if (key %in% mlr3::mlr_learners$keys()) mlr3::lrn(key) else NULL
  })
}

# Covariates as a data.table with syntactic, unique names (some mlr3 learners build formulas).
mlr3_frame <- function(x) {
  data <- data.table::as.data.table(x)
  data.table::setnames(data, make.names(colnames(x), unique = TRUE))
  data
}

# The wrappers' shared learner: fit(x, y, binary) and predict(model, x, binary) of the package,
# called with binary = whether the training target is 0/1; a constant target is predicted as
# such without calling the package.
wrapper_learner <- function(name, fit, predict) {
  check_string(name, "name")
  new_learner("custom", ridge = NA_real_, label = name,
    fit = function(x, y) {
      if (all(y == y[1L])) return(list(constant = y[1L]))
      binary <- all(y == 0 | y == 1)
      list(model = fit(x, y, binary), binary = binary)
    },
    predict = function(model, x) {
      if (!is.null(model$constant)) return(rep(model$constant, nrow(x)))
      as.double(predict(model$model, x, model$binary))
    })
}

# Calls fun (a quoted name such as quote(ranger::ranger)) with args, data passed as symbols
# evaluated in the caller's frame, so that an error shows a short call.
call_with <- function(fun, args, envir = parent.frame()) {
  eval(as.call(c(list(fun), args)), envir)
}

# The `...` of a wrapper: named, and none of the arguments the wrapper sets itself.
wrapper_dots <- function(dots, fn, reserved) {
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots))))) {
    fd_abort("argument", "The arguments in {.arg ...} of {.fn {fn}} must be named.")
  }
  taken <- intersect(names(dots), reserved)
  if (length(taken)) {
    fd_abort("argument", c("{.fn {fn}} sets {.arg {taken}} itself; remove {cli::qty(length(taken))}{?it/them} from {.arg ...}.",
                           i = "The data, and the family or objective (from the target: 0/1 or not), follow from the nuisance."))
  }
  dots
}

# A classed error when a suggested package is missing.
need_package <- function(pkg, fn, install = NULL) {
  if (requireNamespace(pkg, quietly = TRUE)) return(invisible(TRUE))
  if (is.null(install)) install <- sprintf('install.packages("%s")', pkg)
  fd_abort("package", c("{.fn {fn}} needs the {.pkg {pkg}} package.",
                        i = "Install it with {.code {install}}."))
}
