# The scale-out CI-DML fit from per-fold sufficient statistics (specs/amazon-ci-dml.md
# §Scale-out, DESIGN.md §5): every pass maps chunks of rows to additive summaries that a source
# (R/scale-sources.R) reduces by summation, so only p x p objects reach the driver and the same
# passes serve every back end. Passes: moments (standardiser), per-fold Grams (ridge outcome
# models for every outcome at once), a hashed subsample (logistic warm start and Hessian),
# logistic gradient iterations of all fold models of all actions, then the residual sums
# (rescaling and quality), the weighted regression sums and the HC sums.

#' Folds from a hash of the row id
#'
#' A portable arithmetic hash that R, DuckDB SQL and Spark SQL compute identically, so that every
#' back end draws the same folds whatever the partitioning: with P = 2147483647,
#' h = ((id mod P) + 7919 seed) mod P, then twice h = 48271 h mod P, and fold = h mod K + 1.
#'
#' @param id Non-negative whole-number row ids (below 2^53).
#' @param n_folds Number of folds K.
#' @param seed A whole number.
#' @return Integer fold ids 1..K.
#' @family estimators
#' @examples
#' table(hash_folds(1:1000, 3, seed = 1))
#' @export
hash_folds <- function(id, n_folds, seed = 1) {
  check_count(n_folds, "n_folds", 2L)
  if (!is.numeric(id) || anyNA(id) || any(id < 0) || any(id != floor(id))) {
    fd_abort("argument", c("Row ids must be non-negative whole numbers without missing values.",
                           i = "Give each row a distinct integer id (e.g. {.code seq_len(n)})."))
  }
  if (!is.numeric(seed) || length(seed) != 1L || !is.finite(seed) || seed != floor(seed)) {
    fd_abort("argument", "{.arg seed} must be a whole number, not {.val {format_value(seed)}}.")
  }
  as.integer(hash_unit(id, seed) %% n_folds) + 1L
}

hash_prime <- 2147483647

# The hash value h in [0, P) of hash_folds(); exact in doubles (every product is below 2^47).
hash_unit <- function(id, seed) {
  h <- ((id %% hash_prime) + (7919 * seed) %% hash_prime) %% hash_prime
  h <- (48271 * h) %% hash_prime
  (48271 * h) %% hash_prime
}

# What every pass needs to read a chunk: covariates, treatments, outcomes, id, folds.
scale_plan <- function(covariates, treatments, outcomes, id, n_folds, seed, options,
                       ridge_outcome, ridge_treatment, num_threads) {
  list(covariates = covariates, treatments = treatments, outcomes = outcomes, id = id,
       n_folds = as.integer(n_folds), seed = seed, options = options,
       ridge_outcome = ridge_outcome, ridge_treatment = ridge_treatment, num_threads = num_threads)
}

# One chunk as numeric matrices, with named errors for missing or non-finite values.
chunk_matrices <- function(chunk, plan) {
  numeric_block <- function(columns, what) {
    missing <- setdiff(columns, names(chunk))
    if (length(missing)) {
      fd_abort("column", c(paste0("The data source lacks the ", what, " column{?s} {.field {missing}}."),
                           i = "Check the column names of the table or files."))
    }
    M <- matrix(0, length(chunk[[1L]]), length(columns), dimnames = list(NULL, columns))
    for (j in seq_along(columns)) M[, j] <- as.double(chunk[[columns[j]]])
    bad <- columns[colSums(!is.finite(M)) > 0]
    if (length(bad)) {
      fd_abort("non_finite", c(paste0("The ", what, " column{?s} {.field {bad}} {?has/have} missing or non-finite values."),
                               i = "Impute or drop those rows in the source first."))
    }
    M
  }
  id <- chunk[[plan$id]]
  if (is.null(id)) fd_abort("column", "The data source has no id column {.field {plan$id}}; hash folds need it.")
  list(X = numeric_block(plan$covariates, "covariate"), D = numeric_block(plan$treatments, "treatment"),
       Y = numeric_block(unique(unlist(plan$outcomes)), "outcome"),
       fold = hash_folds(as.double(id), plan$n_folds, plan$seed), id = as.double(id))
}

# One pass over one chunk (runs where the chunk lives: in the session or a mirai daemon).
chunk_pass <- function(chunk, plan, pass) {
  m <- chunk_matrices(chunk, plan)
  threads <- plan$num_threads
  switch(pass$type,
    moments = {
      centred <- m$X - rep(pass$shift, each = nrow(m$X))
      list(n = nrow(m$X), sum = colSums(centred), sumsq = colSums(centred^2))
    },
    gram = list(gram = .fastdml_chunk_gram(m$X, m$fold, plan$n_folds, pass$center, pass$scale,
                                           cbind(m$Y, m$D), threads)),
    sample = {
      keep <- hash_unit(m$id, plan$seed + 1) < pass$share * hash_prime
      list(X = m$X[keep, , drop = FALSE], D = m$D[keep, , drop = FALSE], fold = m$fold[keep])
    },
    logistic = .fastdml_chunk_logistic(m$X, m$fold, plan$n_folds, pass$center, pass$scale, m$D,
                                       pass$coef, pass$target, pass$held_out, threads),
    residual_sums(m, plan, pass))
}

combine_pass <- function(a, b, type) {
  if (is.null(a)) return(b)
  if (type == "sample") return(Map(function(x, y) if (is.matrix(x)) rbind(x, y) else c(x, y), a, b))
  Map(`+`, a, b)
}

# Out-of-fold predictions of a chunk: l for every outcome column, m for every treatment.
chunk_predictions <- function(m, plan, pass) {
  eta <- .fastdml_chunk_predict(m$X, m$fold, plan$n_folds, pass$center, pass$scale, pass$coef,
                                plan$num_threads)
  n_out <- ncol(m$Y)
  list(l = eta[, seq_len(n_out), drop = FALSE],
       m = stats::plogis(eta[, n_out + seq_len(ncol(m$D)), drop = FALSE]))
}

# The residual passes: "rescale" (sums for the rescaling factor and nuisance quality),
# "wls" (sums of the weighted regression) and "hc" (sums of the variances), per
# (treatment, outcome) pair.
residual_sums <- function(m, plan, pass) {
  pred <- chunk_predictions(m, plan, pass)
  options <- plan$options
  pairs <- pass$pairs
  out <- lapply(seq_len(nrow(pairs)), function(r) {
    a <- pairs$treatment_index[r]
    o <- pairs$outcome_index[r]
    d <- m$D[, a]
    e <- pred$m[, a]
    y <- m$Y[, o]
    if (pass$type == "rescale") {
      kept <- if (options$trim > 0 && options$trim_mode == "drop") e >= options$trim & e <= 1 - options$trim else rep(TRUE, length(e))
      bins <- pmin(floor(e * pass$auc_bins), pass$auc_bins - 1) + 1
      return(c(retained = sum(kept), d = sum(d * kept), e = sum(e * kept),
               sse_l = sum((y - pred$l[, o])^2), sum_y = sum(y), sumsq_y = sum(y^2),
               log_loss = -sum(d * log(pmax(e, 1e-15)) + (1 - d) * log(pmax(1 - e, 1e-15))),
               hist1 = tabulate(bins[d == 1], pass$auc_bins), hist0 = tabulate(bins[d == 0], pass$auc_bins)))
    }
    wt <- ci_dml_weights(d, e, rep(1, length(d)), options, rescale_factor = pass$rescale_factor[a])
    w <- wt$weights
    z <- d - e
    u <- y - pred$l[, o]
    if (pass$type == "wls") {
      return(c(sw = sum(w), swz = sum(w * z), swy = sum(w * u), swzz = sum(w * z^2),
               swzy = sum(w * z * u), n_pos = sum(w > 0)))
    }
    z <- z - pass$z_mean[r]
    u <- u - pass$y_mean[r] - pass$beta[r] * z
    h <- w * z^2 * pass$bread[r] + if (options$intercept) w / pass$sw[r] else 0
    meat <- w^2 * u^2 * z^2
    c(hc0 = sum(meat), hc2 = sum(meat / (1 - h)), hc3 = sum(meat / (1 - h)^2), const = sum(w * u^2))
  })
  list(sums = do.call(rbind, out))
}

# The driver: runs the passes through `reduce` (a function(pass) returning the pass's sums over
# all chunks) and returns one row per (treatment, outcome) pair.
scale_fit <- function(reduce, plan, pairs) {
  p <- length(plan$covariates)
  K <- plan$n_folds
  moments <- reduce(list(type = "moments", shift = rep(0, p)))
  n <- moments$n
  center <- moments$sum / n
  if (any(center^2 > 1e6 * (moments$sumsq / n - center^2))) {
    moments <- reduce(list(type = "moments", shift = center))  # shifted sums against cancellation
    center <- center + moments$sum / n
  }
  scale <- sqrt(pmax(moments$sumsq - moments$sum^2 / n, 0) / (n - 1))
  constant <- plan$covariates[!(scale > 1e-12 * pmax(1, abs(center)))]
  if (length(constant)) {
    fd_abort("constant", c("Covariate{?s} {.field {constant}} {?is/are} constant in the data source.",
                           i = "Drop {.field {constant}} from {.arg covariates}."))
  }
  std <- list(center = center, scale = scale)
  gram <- reduce(c(list(type = "gram"), std))$gram
  grams <- lapply(seq_len(K), function(k) gram[, (k - 1) * ncol(gram) / K + seq_len(ncol(gram) / K), drop = FALSE])
  check_scale_folds(grams, plan, p)
  linear <- ridge_fold_models(grams, plan, p)
  sample <- reduce(c(list(type = "sample", share = min(1, max(20000, n / 100) / n)), std))
  logistic <- logistic_fold_models(reduce, plan, std, sample, grams, p)
  coef <- cbind(linear, logistic)
  base <- c(std, list(coef = coef, pairs = pairs))
  sums <- reduce(c(list(type = "rescale", auc_bins = 10000L), base))$sums
  rescale_factor <- vapply(seq_along(plan$treatments), function(a) {
    r <- match(a, pairs$treatment_index)
    sums[r, "d"] / sums[r, "e"]
  }, numeric(1))
  wls <- reduce(c(list(type = "wls", rescale_factor = rescale_factor), base))$sums
  fit <- wls_from_sums(wls, plan$options$intercept)
  hc <- reduce(c(list(type = "hc", rescale_factor = rescale_factor), base, fit))$sums
  scale_results(pairs, plan, n, sums, wls, fit, hc)
}

gram_index <- function(p, n_out) {
  list(design = seq_len(p + 1L), outcome = p + 1L + seq_len(n_out))
}

# Treatments are 0/1 (sum d^2 = sum d), and every training fold has both arms of every action
# (as check_folds_have_both_arms()).
check_scale_folds <- function(grams, plan, p) {
  n_out <- length(unique(unlist(plan$outcomes)))
  total <- Reduce(`+`, grams)
  d_index <- p + 1L + n_out + seq_along(plan$treatments)
  sums <- total[1L, d_index]
  squares <- diag(total)[d_index]
  not_binary <- plan$treatments[abs(squares - sums) > 1e-9 * pmax(1, sums)]
  if (length(not_binary)) {
    fd_abort("treatment", c("Treatment{?s} {.field {not_binary}} {?is/are} not coded 0/1.",
                            i = "CI-DML needs a 0/1 action indicator per treatment column."))
  }
  for (k in seq_along(grams)) {
    train <- total - grams[[k]]
    for (a in seq_along(plan$treatments)) {
      treated <- train[1L, p + 1L + n_out + a]
      if (!(treated > 0 && treated < train[1L, 1L])) {
        fd_abort("folds", c("The training rows of fold {k} have only one arm of {.field {plan$treatments[a]}}.",
                            i = "Use fewer folds or another {.arg seed}; every training fold needs treated and control rows."))
      }
    }
  }
}

# Ridge outcome model of every outcome and fold from the other folds' Grams (LinearLearner's
# normal equations: ridge on the standardised slopes, intercept unpenalised).
ridge_fold_models <- function(grams, plan, p) {
  outcomes <- unique(unlist(plan$outcomes))
  idx <- gram_index(p, length(outcomes))
  K <- length(grams)
  total <- Reduce(`+`, grams)
  penalty <- diag(c(0, rep(plan$ridge_outcome, p)), p + 1L)
  coef <- matrix(0, p + 1L, length(outcomes) * K)
  for (k in seq_len(K)) {
    train <- total - grams[[k]]
    beta <- solve(train[idx$design, idx$design] + penalty, train[idx$design, idx$outcome, drop = FALSE])
    coef[, (seq_along(outcomes) - 1L) * K + k] <- beta
  }
  coef
}

# Logistic models of every treatment and fold: warm start and Hessian from a hashed subsample
# (max(2e4, n / 100) rows), steps H~^-1 g with the full-data gradient g of each pass (the fixed
# point is the exact penalised maximum likelihood, whatever the subsample; only the rate
# depends on it), the curvature refined by BFGS updates from successive full-data gradients;
# step halving on the penalised deviance; converged models leave the passes.
logistic_fold_models <- function(reduce, plan, std, sample, grams, p) {
  K <- plan$n_folds
  A <- length(plan$treatments)
  Zs <- cbind(1, sweep(sweep(sample$X, 2L, std$center), 2L, std$scale, "/"))
  total <- Reduce(`+`, grams)
  n_train <- vapply(seq_len(K), function(k) total[1L, 1L] - grams[[k]][1L, 1L], numeric(1))
  penalty <- c(0, rep(plan$ridge_treatment, p))
  models <- expand.grid(fold = seq_len(K), action = seq_len(A))
  start <- lapply(seq_len(A), function(a) subsample_logistic(Zs, sample$D[, a], penalty + 1e-6 * nrow(Zs)))
  beta <- do.call(cbind, lapply(models$action, function(a) start[[a]]))
  hessians <- subsample_hessians(Zs, sample$fold, start, models, n_train, penalty)
  previous <- vector("list", ncol(beta))
  step <- matrix(0, nrow(beta), ncol(beta))
  objective <- rep(Inf, ncol(beta))
  done <- rep(FALSE, ncol(beta))
  for (iteration in seq_len(100L)) {
    active <- which(!done)
    sums <- reduce(c(list(type = "logistic", coef = beta[, active, drop = FALSE],
                          target = models$action[active] - 1L, held_out = models$fold[active] - 1L), std))
    for (i in seq_along(active)) {
      j <- active[i]
      b <- beta[, j]
      current <- sums$deviance[i] + sum(penalty * b^2)
      if (current > objective[j] * (1 + 1e-12) + 1e-12) {
        step[, j] <- step[, j] / 2
        beta[, j] <- b - step[, j]
        next
      }
      objective[j] <- current
      g <- sums$gradient[, i] - penalty * b
      if (!is.null(previous[[j]])) hessians[[j]] <- bfgs_update(hessians[[j]], b - previous[[j]]$b, previous[[j]]$g - g)
      previous[[j]] <- list(b = b, g = g)
      step[, j] <- solve(hessians[[j]], g)
      beta[, j] <- b + step[, j]
      done[j] <- max(abs(step[, j])) < 1e-10 * (1 + max(abs(b)))
    }
    if (all(done)) return(beta)
  }
  fd_abort("convergence", c("The scale-out logistic fit did not converge in 100 passes.",
                            i = "Add a ridge penalty to the treatment learner, e.g. {.code lrn_logistic(ridge = 1)}."))
}

# Penalised Hessian of every fold model at its action's warm start, from the subsample: the
# per-fold weighted Grams of the subsample, the training ones summed and scaled to the fold's
# training size. Fixed over the iterations (the fixed point does not depend on it).
subsample_hessians <- function(Zs, fold, start, models, n_train, penalty) {
  K <- length(n_train)
  per_action <- lapply(start, function(b) {
    pr <- stats::plogis(drop(Zs %*% b))
    lapply(seq_len(K), function(k) {
      rows <- fold == k
      crossprod(Zs[rows, , drop = FALSE] * (pr[rows] * (1 - pr[rows])), Zs[rows, , drop = FALSE])
    })
  })
  lapply(seq_len(nrow(models)), function(j) {
    k <- models$fold[j]
    grams <- per_action[[models$action[j]]]
    H <- Reduce(`+`, grams[-k]) * (n_train[k] / sum(fold != k))
    H + diag(penalty + 1e-12 * max(diag(H)))
  })
}

# BFGS update of the curvature H along step s with gradient change y (of the negative
# log-likelihood): superlinear convergence from the subsample's Hessian.
bfgs_update <- function(H, s, y) {
  sy <- sum(s * y)
  Hs <- drop(H %*% s)
  sHs <- sum(s * Hs)
  if (!(sy > 1e-12 * sqrt(sum(s^2) * sum(y^2))) || !(sHs > 0)) return(H)
  H + tcrossprod(y) / sy - tcrossprod(Hs) / sHs
}

# Newton fit of a penalised logistic regression on the in-memory subsample (the warm start).
subsample_logistic <- function(Z, d, penalty) {
  b <- c(stats::qlogis(min(max(mean(d), 1e-3), 1 - 1e-3)), rep(0, ncol(Z) - 1L))
  for (iteration in seq_len(50L)) {
    pr <- stats::plogis(drop(Z %*% b))
    step <- solve(crossprod(Z * (pr * (1 - pr)), Z) + diag(penalty, ncol(Z)),
                  crossprod(Z, d - pr) - penalty * b)
    b <- b + drop(step)
    if (max(abs(step)) < 1e-8 * (1 + max(abs(b)))) break
  }
  b
}

# Slope, means and bread of the weighted regression from its sums (centred with an intercept).
wls_from_sums <- function(wls, intercept) {
  sw <- wls[, "sw"]
  if (intercept) {
    z_mean <- wls[, "swz"] / sw
    y_mean <- wls[, "swy"] / sw
    sxx <- wls[, "swzz"] - wls[, "swz"]^2 / sw
    sxy <- wls[, "swzy"] - wls[, "swz"] * wls[, "swy"] / sw
  } else {
    z_mean <- y_mean <- rep(0, nrow(wls))
    sxx <- wls[, "swzz"]
    sxy <- wls[, "swzy"]
  }
  list(beta = unname(sxy / sxx), z_mean = unname(z_mean), y_mean = unname(y_mean),
       bread = unname(1 / sxx), sw = unname(sw))
}

# One row per (treatment, outcome): estimate, the five standard errors, sizes and quality.
scale_results <- function(pairs, plan, n, sums, wls, fit, hc) {
  p <- 1L + plan$options$intercept
  n_pos <- wls[, "n_pos"]
  bread <- fit$bread
  var <- cbind(const = hc[, "const"] / (n_pos - p) * bread, HC0 = bread^2 * hc[, "hc0"],
               HC1 = n_pos / (n_pos - p) * bread^2 * hc[, "hc0"], HC2 = bread^2 * hc[, "hc2"],
               HC3 = bread^2 * hc[, "hc3"])
  auc <- apply(sums, 1L, function(row) {
    h1 <- row[grep("^hist1", names(row))]
    h0 <- row[grep("^hist0", names(row))]
    below <- cumsum(h0) - h0
    sum(h1 * (below + h0 / 2)) / (sum(h1) * sum(h0))
  })
  tss <- sums[, "sumsq_y"] - sums[, "sum_y"]^2 / n
  out <- data.frame(treatment = plan$treatments[pairs$treatment_index],
                    outcome = unique(unlist(plan$outcomes))[pairs$outcome_index],
                    estimate = fit$beta, std.error = sqrt(var[, "HC0"]),
                    stringsAsFactors = FALSE)
  for (type in colnames(var)) out[[paste0("se_", type)]] <- sqrt(var[, type])
  out$n <- n
  out$n_retained <- unname(sums[, "retained"])
  out$r2_l <- unname(1 - sums[, "sse_l"] / tss)
  out$auc_m <- unname(auc)
  out$log_loss_m <- unname(sums[, "log_loss"] / n)
  out
}
