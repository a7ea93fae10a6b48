# Cross-fitting of nuisance functions. `defs` is a named list of nuisance definitions
# list(learner, target, target_name, mask, subset): the learner is fitted on the training rows
# of each (repetition, fold) where the integer 0/1 `mask` is 1 (all rows when NULL) and
# predicts every held-out row. Built-in learners run in one threaded C++ call: linear and
# logistic ones sharing a learner and a mask are fitted together; boosting learners each form
# their own group (so their tasks spread over the threads) and share one binning of X.
# Definitions sharing a `class_group` are the one-hot targets of one multinomial model (the
# arms' propensities): fitted together as a multinomial logistic or softmax boosting group. Stacks
# (lrn_stack) cross-fit their base learners and combine them; R learners (lrn_custom) run fold
# by fold here with the same folds. Returns the predictions, the definitions as fitted (built-in
# learners may be switched to ridge, see builtin_design()), what learners report per fold
# (`fold_info`: n_folds x n_rep matrices, e.g. boosting rounds) and the stacking weights.
crossfit_nuisances <- function(spec, folds, defs, num_threads) {
  for (name in names(defs)) check_classifier_target(defs[[name]], name)
  defs <- resolve_learner_seeds(defs, NULL)
  out <- stats::setNames(vector("list", length(defs)), names(defs))
  fold_info <- list()
  kinds <- vapply(defs, function(def) def$learner$kind, character(1))
  linear <- names(defs)[kinds %in% c("linear", "logistic")]
  boosted <- names(defs)[kinds == "boost"]
  stacked <- names(defs)[kinds == "stack"]
  custom <- setdiff(names(defs), c(linear, boosted, stacked))
  keep <- function(fitted) {
    out[names(fitted$preds)] <<- fitted$preds
    fold_info[names(fitted$info)] <<- fitted$info
  }
  if (length(linear)) {
    sizes <- vapply(defs[linear], function(def) min_training_rows(folds, def$mask), numeric(1))
    design <- builtin_design(spec$X, defs[linear], sizes)
    defs[linear] <- design$defs
    keys <- vapply(defs[linear], function(def) {
      paste(def$learner$kind, format(def$learner$ridge, digits = 17), def$subset,
            if (is.null(def$class_group)) "" else def$class_group)
    }, character(1))
    groups <- lapply(unique(keys), function(key) {
      members <- linear[keys == key]
      first <- defs[[members[1L]]]
      kind <- if (is.null(first$class_group)) first$learner$kind else "multinomial"
      list(learner = list(kind = kind, ridge = first$learner$ridge),
           targets = lapply(defs[members], `[[`, "target"), mask = first$mask, members = members)
    })
    keep(run_core_groups(design$X, folds, groups, num_threads, design$standardize))
  }
  unit_keys <- vapply(boosted, function(name) {
    group <- defs[[name]]$class_group
    if (is.null(group)) paste0("nuisance:", name) else paste0("group:", group)
  }, character(1))
  boost_units <- unname(split(boosted, factor(unit_keys, unique(unit_keys))))
  tick <- progress_ticker((length(boost_units) + length(custom)) * ncol(folds) * max(folds))
  if (length(boosted)) {
    groups <- lapply(boost_units, function(members) {
      c(boost_group(defs[members], spec$weights), list(members = members))
    })
    keep(run_core_groups(spec$X, folds, groups, num_threads, FALSE, tick))
  }
  stacking <- lapply(stats::setNames(stacked, stacked), function(name) {
    crossfit_stack(spec, folds, defs[[name]], name, num_threads)
  })
  for (name in stacked) out[[name]] <- stacking[[name]]$pred
  done <- length(boost_units) * ncol(folds) * max(folds)
  for (name in custom) {
    out[[name]] <- crossfit_custom(spec$X, folds, defs[[name]], name, function(k) tick(done + k))
    done <- done + ncol(folds) * max(folds)
  }
  list(preds = out, defs = defs, fold_info = fold_info,
       stacking = data.table::rbindlist(lapply(stacking, `[[`, "weights")))
}

# A cli progress bar over `total` fold tasks, for the caller's frame: returns tick(done). cli
# shows it only when the work takes more than a couple of seconds; option
# fastdml.progress = FALSE turns it off.
progress_ticker <- function(total, envir = parent.frame()) {
  if (total < 1 || !isTRUE(getOption("fastdml.progress", TRUE))) return(function(done, ...) invisible())
  bar <- cli::cli_progress_bar("Cross-fitting nuisances", total = total, .envir = envir)
  function(done, ...) cli::cli_progress_update(id = bar, set = done, .envir = envir)
}

# One threaded C++ cross-fit of core groups: each member's predictions (`preds`) and what its
# learner reported per fold (`info`), by member name. `tick(done)` gets progress.
run_core_groups <- function(X, folds, groups, num_threads, standardize, tick = NULL) {
  # On large tables, the input checks' temporaries are collected before the cross-fit's
  # buffers are allocated, so that the two do not add up in the fit's peak memory.
  if (length(X) >= 1e7) gc(verbose = FALSE)
  fitted <- core_call(.fastdml_crossfit(X, folds, groups, num_threads, standardize, tick))
  preds <- info <- list()
  for (g in seq_along(groups)) {
    for (t in seq_along(groups[[g]]$members)) {
      member <- groups[[g]]$members[t]
      preds[[member]] <- fitted[[g]][[t]]
      info[[member]] <- attr(fitted[[g]], "fit_info")[[t]]
    }
  }
  list(preds = preds, info = info)
}

# Training rows of the smallest (repetition, fold) training sample allowed by a mask.
min_training_rows <- function(folds, mask) {
  allowed <- if (is.null(mask)) NULL else mask == 1L
  min(vapply(seq_len(ncol(folds)), function(s) {
    ids <- if (is.null(allowed)) folds[, s] else folds[allowed, s]
    length(ids) - max(tabulate(ids))
  }, numeric(1)))
}

crossfit_custom <- function(X, folds, def, name, tick = function(done) invisible()) {
  n <- nrow(X)
  pred <- matrix(NA_real_, n, ncol(folds))
  for (s in seq_len(ncol(folds))) {
    for (k in seq_len(max(folds[, s]))) {
      test <- which(folds[, s] == k)
      train <- folds[, s] != k
      if (!is.null(def$mask)) train <- train & def$mask == 1L
      train <- which(train)
      where <- sprintf("nuisance %s, fold %d, repetition %d", name, k, s)
      pred[test, s] <- run_custom_learner(def, X[train, , drop = FALSE], def$target[train],
                                          X[test, , drop = FALSE], where)
      tick((s - 1L) * max(folds[, s]) + k)
    }
  }
  pred
}

# Fits an R learner and predicts newx, with its errors and its output checked: one finite
# number per row; a classifier may return a column per class named by class ("0"/"1" or
# "FALSE"/"TRUE"), of which the "1" column is the probability.
run_custom_learner <- function(def, x, y, newx, where) {
  label <- def$learner$label
  p <- tryCatch({
    model <- def$learner$fit(x, y)
    def$learner$predict(model, newx)
  }, error = function(e) {
    fd_abort("learner", "The learner {.val {label}} failed ({where}).", parent = e)
  })
  learner_output(p, nrow(newx), isTRUE(def$learner$classifier) || all(y == 0 | y == 1), label, where)
}

learner_output <- function(p, n_rows, classifier, label, where) {
  if (is.data.frame(p)) p <- as.matrix(p)
  if (is.matrix(p) && ncol(p) == 1L) p <- p[, 1L]
  if (is.matrix(p)) {
    positive <- intersect(c("1", "TRUE"), colnames(p))
    if (!classifier || ncol(p) != 2L || length(positive) != 1L) {
      fd_abort("learner", c("The learner {.val {label}} returned a matrix with {ncol(p)} columns ({where}).",
                            i = if (classifier) "A classifier may return one column per class, named {.val {c('0', '1')}}; otherwise return one probability per row." else "Return one prediction per row."))
    }
    p <- p[, positive]
  }
  if (!is.numeric(p) && !is.logical(p)) {
    fd_abort("learner", c("The learner {.val {label}} returned a {.cls {class(p)}}, not numbers ({where}).",
                          i = if (classifier) "For a 0/1 target return the probability of class 1 (e.g. {.code predict(type = \"prob\")}), not class labels." else "{.code predict(model, x)} must return one finite number per row of {.code x}."))
  }
  p <- as.double(p)
  if (length(p) != n_rows || any(!is.finite(p))) {
    fd_abort("learner", c("The learner {.val {label}} returned {length(p)} prediction{?s} ({sum(!is.finite(p))} non-finite) for {n_rows} rows ({where}).",
                          i = "{.code predict(model, x)} must return one finite number per row of {.code x}."))
  }
  p
}

# Built-in learners on many covariates (p close to or above the training rows): unpenalised
# fits are switched to ridge, penalty p on the standardised scale, with a classed warning; and
# when p >= n the design is rotated onto its principal axes, X -> U D from the SVD of the
# standardised X = U D V'. Ridge (linear or logistic) is invariant to that rotation (its
# solution lies in the row space and the penalty is isotropic), so the predictions equal those
# on the standardised X while every solve is at most n x n. Returns the design matrix, whether
# the core should standardise it, and the (possibly switched) definitions.
builtin_design <- function(X, defs, train_rows) {
  n <- nrow(X)
  p <- ncol(X)
  for (name in names(defs)) {
    learner <- defs[[name]]$learner
    if (learner$ridge == 0 && p + 1 > train_rows[[name]] / 2) {
      switched <- new_learner(learner$kind, ridge = p,
                              label = sprintf("%s ridge(%d)", learner$kind, p),
                              classifier = learner$classifier)
      fd_warn("high_dimensional", c("Nuisance {.field {name}}: {p} covariate{?s} for {train_rows[[name]]} training rows; {.fn lrn_{learner$kind}} was switched to ridge (penalty {p} on the standardised scale).",
                                    i = "Choose the penalty yourself with {.code lrn_{learner$kind}(ridge = ...)}, reduce the covariates, or use a penalised {.fn lrn_custom} learner."))
      defs[[name]]$learner <- switched
    }
  }
  if (p < n) return(list(X = X, standardize = TRUE, defs = defs))
  if (as.double(n)^2 * p > 1e11) {
    fd_abort("dimension", c("{p} covariates for {n} rows is too large for the built-in learners.",
                            i = "Reduce the covariates first (e.g. principal components), or use a {.fn lrn_custom} learner such as glmnet."))
  }
  center <- colMeans(X)
  scale <- sqrt(colSums((X - rep(center, each = n))^2) / (n - 1))
  scale[!(scale > 0)] <- 1
  Z <- (X - rep(center, each = n)) / rep(scale, each = n)
  sv <- svd(Z, nu = min(n, p), nv = 0)
  keep <- sv$d > 1e-10 * sv$d[1L]
  rotated <- sv$u[, keep, drop = FALSE] * rep(sv$d[keep], each = n)
  list(X = rotated, standardize = FALSE, defs = defs)
}

check_classifier_target <- function(def, name) {
  if (!def$learner$classifier) return(invisible())
  target <- def$target
  if (!all(target == 0 | target == 1)) {
    fd_abort("learner", c("Nuisance {.field {name}} asks the classifier {.val {def$learner$label}} for column {.field {def$target_name}}, which is not binary 0/1.",
                     i = "Use a regression learner such as {.fn lrn_linear} for it."))
  }
}

# Out-of-fold quality of each nuisance, per repetition and fold (fold NA = all folds pooled),
# on the rows where the target is observed for that nuisance (its mask); computed in C++.
# Without a fold plan (external nuisances given without folds) only the pooled rows are kept.
# `fold_info` (per nuisance, n_folds x n_rep) fills the column `rounds`: the boosting rounds
# kept in each fold (their mean over folds on the pooled rows), NA for other learners.
nuisance_quality <- function(defs, preds, folds, num_threads, fold_info = list()) {
  known_folds <- !anyNA(folds)
  if (!known_folds) folds[] <- rep_len(1:2, length(folds))
  tables <- .fastdml_quality(
    lapply(defs, `[[`, "target"), preds[names(defs)],
    lapply(defs, `[[`, "mask"),
    folds, num_threads)
  out <- data.table::rbindlist(lapply(seq_along(defs), function(j) {
    table <- data.table::data.table(nuisance = names(defs)[j], learner = defs[[j]]$learner$label,
                                    tables[[j]])
    info <- fold_info[[names(defs)[j]]]
    table$rounds <- NA_real_
    if (!is.null(info) && !all(is.na(info))) {
      by_fold <- !is.na(table$fold)
      table$rounds[by_fold] <- info[cbind(table$fold[by_fold], table$rep[by_fold])]
      table$rounds[!by_fold] <- colMeans(info)[table$rep[!by_fold]]
    }
    table
  }))
  if (!known_folds) out <- out[is.na(out$fold)]
  out
}

# External nuisances: a named list of n x n_rep matrices (or vectors) with the names that
# nuisances(fit) returns, optionally with `folds`. Nothing is fitted. `optional` names may be
# absent (e.g. g1 for the ATT). n_folds / n_rep passed explicitly must agree with them.
check_external_nuisances <- function(nuisances, required, spec, setup, optional = character()) {
  if (!is.list(nuisances) || is.null(names(nuisances))) {
    fd_abort("nuisances", "{.arg nuisances} must be a named list of prediction matrices ({.field {required}}).")
  }
  missing_names <- setdiff(setdiff(required, optional), names(nuisances))
  if (length(missing_names)) {
    fd_abort("nuisances", c("{.arg nuisances} lacks {.field {missing_names}}.",
                            i = "Supply out-of-fold predictions named {.field {required}}."))
  }
  present <- intersect(required, names(nuisances))
  preds <- lapply(stats::setNames(present, present), function(name) {
    x <- nuisances[[name]]
    if (is.data.frame(x)) x <- as.matrix(x)
    if (is.vector(x) && is.numeric(x)) x <- matrix(x, ncol = 1L)
    if (!is.matrix(x) || !is.numeric(x) || nrow(x) != spec$n || ncol(x) < 1L) {
      fd_abort("nuisances", "Nuisance {.field {name}} must be a numeric vector of length {spec$n} or a matrix with {spec$n} rows.")
    }
    if (any(!is.finite(x))) {
      fd_abort("nuisances", c("Nuisance {.field {name}} has {sum(!is.finite(x))} missing or non-finite value{?s}.",
                              i = "Supply a finite prediction for every row."))
    }
    storage.mode(x) <- "double"
    x
  })
  columns <- vapply(preds, ncol, integer(1))
  n_rep <- unique(columns)
  if (length(n_rep) != 1L) {
    fd_abort("nuisances", c("The matrices of {.arg nuisances} must have the same number of columns (repetitions).",
                            x = "{paste0(names(columns), ': ', columns, collapse = ', ')}."))
  }
  if (isTRUE(setup$given[["n_rep"]]) && setup$n_rep != n_rep) {
    fd_abort("nuisances", c("{.arg n_rep} = {setup$n_rep} disagrees with the {n_rep} column{?s} of the nuisances.",
                            i = "Drop {.arg n_rep}: it follows from {.arg nuisances}."))
  }
  folds <- if (is.null(setup$folds)) nuisances$folds else setup$folds
  if (is.null(folds)) {
    if (isTRUE(setup$given[["n_folds"]])) {
      fd_abort("nuisances", c("{.arg n_folds} has no effect with external nuisances.",
                              i = "Drop it, or pass the folds the nuisances were fitted on as {.arg folds}."))
    }
    folds <- matrix(NA_integer_, spec$n, n_rep)
  } else {
    folds <- resolve_folds(spec, folds, setup$n_folds, n_rep, NULL,
                           given = c(n_folds = isTRUE(setup$given[["n_folds"]]), n_rep = TRUE))
  }
  list(preds = preds, folds = folds)
}
