# Cross-fitting of nuisance functions. `defs` is a named list of nuisance definitions
# list(learner, target, target_name, mask, subset): the learner is fitted on the training rows
# of each (repetition, fold) where the integer 0/1 `mask` is 1 (all rows when NULL) and
# predicts every held-out row. Built-in learners sharing a learner and a mask are fitted together in one
# threaded C++ call; R learners (lrn_custom) run fold by fold here with the same folds.
crossfit_nuisances <- function(spec, folds, defs, num_threads) {
  for (name in names(defs)) check_classifier_target(defs[[name]], name)
  out <- stats::setNames(vector("list", length(defs)), names(defs))
  builtin <- names(defs)[vapply(defs, function(def) def$learner$builtin, logical(1))]
  if (length(builtin)) {
    keys <- vapply(defs[builtin], function(def) {
      paste(def$learner$kind, format(def$learner$ridge, digits = 17), def$subset)
    }, character(1))
    groups <- lapply(unique(keys), function(key) {
      members <- builtin[keys == key]
      first <- defs[[members[1L]]]
      list(learner = list(kind = first$learner$kind, ridge = first$learner$ridge),
           targets = lapply(defs[members], `[[`, "target"),
           mask = first$mask,
           members = members)
    })
    fitted <- .fastdml_crossfit(spec$X, folds, groups, num_threads)
    for (g in seq_along(groups)) {
      for (t in seq_along(groups[[g]]$members)) out[[groups[[g]]$members[t]]] <- fitted[[g]][[t]]
    }
  }
  for (name in setdiff(names(defs), builtin)) {
    out[[name]] <- crossfit_custom(spec$X, folds, defs[[name]], name)
  }
  out
}

crossfit_custom <- function(X, folds, def, name) {
  n <- nrow(X)
  pred <- matrix(NA_real_, n, ncol(folds))
  for (s in seq_len(ncol(folds))) {
    for (k in seq_len(max(folds[, s]))) {
      test <- which(folds[, s] == k)
      train <- folds[, s] != k
      if (!is.null(def$mask)) train <- train & def$mask == 1L
      train <- which(train)
      model <- def$learner$fit(X[train, , drop = FALSE], def$target[train])
      p <- def$learner$predict(model, X[test, , drop = FALSE])
      p <- as.double(if (is.matrix(p) || is.data.frame(p)) p[, ncol(p)] else p)
      if (length(p) != length(test) || any(!is.finite(p))) {
        cli::cli_abort(c("The learner {.val {def$learner$label}} for nuisance {.field {name}} returned {length(p)} prediction{?s} ({sum(!is.finite(p))} non-finite) for {length(test)} rows (fold {k}, repetition {s}).",
                         i = "{.code predict(model, x)} must return one finite number per row of {.code x}."))
      }
      pred[test, s] <- p
    }
  }
  pred
}

check_classifier_target <- function(def, name) {
  if (!def$learner$classifier) return(invisible())
  target <- def$target
  if (!all(target == 0 | target == 1)) {
    cli::cli_abort(c("Nuisance {.field {name}} asks the classifier {.val {def$learner$label}} for column {.field {def$target_name}}, which is not binary 0/1.",
                     i = "Use a regression learner such as {.fn lrn_linear} for it."))
  }
}

# Out-of-fold quality of each nuisance, per repetition and fold (fold NA = all folds pooled),
# on the rows where the target is observed for that nuisance (its mask); computed in C++.
# Without a fold plan (external nuisances given without folds) only the pooled rows are kept.
nuisance_quality <- function(defs, preds, folds, num_threads) {
  known_folds <- !anyNA(folds)
  if (!known_folds) folds[] <- rep_len(1:2, length(folds))
  tables <- .fastdml_quality(
    lapply(defs, `[[`, "target"), preds[names(defs)],
    lapply(defs, `[[`, "mask"),
    folds, num_threads)
  out <- data.table::rbindlist(lapply(seq_along(defs), function(j) {
    data.table::data.table(nuisance = names(defs)[j], learner = defs[[j]]$learner$label,
                           tables[[j]])
  }))
  if (!known_folds) out <- out[is.na(out$fold)]
  out
}

# External nuisances: a named list of n x n_rep matrices (or vectors) with the names that
# nuisances(fit) returns, optionally with `folds`. Nothing is fitted.
check_external_nuisances <- function(nuisances, required, spec, folds) {
  if (!is.list(nuisances)) {
    cli::cli_abort("{.arg nuisances} must be a named list of prediction matrices ({.field {required}}).")
  }
  missing_names <- setdiff(required, names(nuisances))
  if (length(missing_names)) {
    cli::cli_abort(c("{.arg nuisances} lacks {.field {missing_names}}.",
                     i = "Supply out-of-fold predictions named {.field {required}}."))
  }
  preds <- lapply(stats::setNames(required, required), function(name) {
    x <- nuisances[[name]]
    if (is.vector(x) && is.numeric(x)) x <- matrix(x, ncol = 1L)
    if (!is.matrix(x) || !is.numeric(x) || nrow(x) != spec$n) {
      cli::cli_abort("Nuisance {.field {name}} must be a numeric vector of length {spec$n} or a matrix with {spec$n} rows.")
    }
    if (any(!is.finite(x))) {
      cli::cli_abort(c("Nuisance {.field {name}} has {sum(!is.finite(x))} missing or non-finite value{?s}.",
                       i = "Supply a finite prediction for every row."))
    }
    storage.mode(x) <- "double"
    x
  })
  n_rep <- unique(vapply(preds, ncol, integer(1)))
  if (length(n_rep) != 1L) {
    cli::cli_abort("All nuisance matrices must have the same number of columns (repetitions).")
  }
  if (is.null(folds)) folds <- nuisances$folds
  if (is.null(folds)) {
    folds <- matrix(NA_integer_, spec$n, n_rep)
  } else {
    folds <- resolve_folds(spec, folds, NULL, NULL, NULL)
    if (ncol(folds) != n_rep) {
      cli::cli_abort("{.arg folds} has {ncol(folds)} column{?s} but the nuisances have {n_rep}.")
    }
  }
  list(preds = preds, folds = folds)
}
