#' Heterogeneity along clusters of the covariates (cluster-score basis)
#'
#' Summarises many covariates into a few soft cluster memberships and projects the CATE on them
#' (DESIGN.md §4, `specs/amazon-ci-dml.md`): the effect modifiers are standardised, their top
#' `n_pc` principal components computed, and k-means with `k` centres run on the component
#' scores; each row's soft score for cluster c is psi_c = (1 / d_c) / sum_j (1 / d_j), with d_j
#' its distance to centre j (one-hot when it sits on a centre). The rows of psi sum to one, so
#' the best linear projection of the pseudo-outcomes on psi (no intercept, see [cate_blp()])
#' gives one effect per cluster, and a unit-level effect h_i = psi_i' beta with variance
#' psi_i' V psi_i (`predict(het, variance = TRUE)`).
#'
#' For a [dml_plr()] fit (CI-DML, `specs/amazon-ci-dml.md`) the projection is instead the
#' fit's residual regression with regressors psi * (D - m): Y - l = (psi * (D - m)) beta + e,
#' with the fit's IPW weights, trimming and rescaling, and `vcov_type` among HC0-HC3 (or the
#' cluster-robust HC0 with clusters). With several repetitions, beta and V are averaged over
#' them (V plus the spread of beta). `summary(het)` reports the HTE mean (all rows), the HTT
#' mean (treated rows) and the share of unit intervals that contain 0.
#'
#' @inheritParams cate_blp
#' @param k Number of clusters.
#' @param n_pc Number of principal components kept (at most the number of effect modifiers).
#' @param effect_modifiers Covariates to cluster on: names of the fit's covariates (default
#'   all), or a numeric matrix / data frame with one row per row of the fit.
#' @param seed Seed of the k-means starts (`NULL`: the current RNG stream).
#' @param nstart Random starts of k-means.
#' @return A `fastdml_cate_clusters` object (a `fastdml_blp`): coefficients per cluster, the
#'   clustering (`$clustering`: centring, scaling, rotation, centres, explained variance) and
#'   the methods of [cate_blp()].
#' @family heterogeneity
#' @examples
#' df <- sim_lesson(800, seed = 3)
#' spec <- causal_data(df, "outcome", "treatment", c("age", "browsing_time", "income"))
#' fit <- dml_irm(spec, learner_outcome = lrn_linear(), learner_treatment = lrn_logistic(), seed = 1)
#' het <- cate_clusters(fit, k = 3, n_pc = 2, seed = 1)
#' het
#' summary(predict(het, variance = TRUE)$estimate)
#' @export
cate_clusters <- function(fit, k = 4L, n_pc = 3L, effect_modifiers = NULL, contrast = NULL,
                          vcov_type = c("HC0", "HC1", "HC2", "HC3"), level = 0.95, seed = NULL,
                          nstart = 10L) {
  plr <- inherits(fit, "dml_plr")
  contrast <- if (plr) plr_contrast(fit) else
    fit_contrasts(fit, contrast, single = TRUE, caller = "cate_clusters")[[1L]]
  vcov_type <- check_vcov_type(vcov_type, fit$spec$cluster)
  check_level(level)
  Z <- effect_modifier_matrix(fit, effect_modifiers)
  check_count(k, "k", 2L)
  check_count(n_pc, "n_pc", 1L)
  check_count(nstart, "nstart", 1L)
  if (n_pc > ncol(Z)) {
    fd_abort("argument", c("{.arg n_pc} = {n_pc} exceeds the {ncol(Z)} effect modifier{?s}.",
                           i = "Use at most {ncol(Z)} components."))
  }
  if (k > fit$n / 2) fd_abort("argument", "{.arg k} = {k} clusters is too many for {fit$n} rows.")
  clustering <- with_seed(seed, fit_clustering(Z, k, n_pc, nstart))
  psi <- cluster_scores(Z, clustering)
  projection <- if (plr) residual_projection(fit, psi, vcov_type) else
    linear_projection(pseudo_outcomes(fit, contrast$arm), psi, fit$spec$weights,
                      fit$spec$cluster, vcov_type)
  new_cate(c("fastdml_cate_clusters", "fastdml_blp"),
           sprintf("CATE on %d soft clusters of %d principal components (%s SE%s)", k, n_pc,
                   vcov_type, if (is.null(fit$spec$cluster)) "" else ", cluster-robust"),
           fit, contrast, drop(psi %*% projection$coefficients),
           coefficients = projection$coefficients, vcov = projection$vcov, level = level,
           B = psi, clustering = clustering,
           treated = if (fit$spec$treatment_type != "continuous") fit_arm_index(fit) == contrast$arm,
           cluster_sizes = tabulate(max.col(psi, ties.method = "first"), k))
}

# PCA of the standardised modifiers and k-means on the top components' scores.
fit_clustering <- function(Z, k, n_pc, nstart) {
  center <- colMeans(Z)
  scale <- sqrt(colSums((Z - rep(center, each = nrow(Z)))^2) / (nrow(Z) - 1))
  scale[!(scale > 0)] <- 1
  standardised <- (Z - rep(center, each = nrow(Z))) / rep(scale, each = nrow(Z))
  sv <- svd(standardised, nu = 0, nv = n_pc)
  scores <- standardised %*% sv$v
  distinct <- nrow(unique(round(scores, 12)))
  if (distinct < k) {
    fd_abort("argument", c("Only {distinct} distinct points for {k} clusters.",
                           i = "Use fewer clusters or more effect modifiers."))
  }
  # Hartigan-Wong may stop its quick-transfer stage early on large n; the best of `nstart`
  # starts is still kept, so that informational warning is not passed on.
  km <- withCallingHandlers(stats::kmeans(scores, centers = k, nstart = nstart, iter.max = 100L),
                            warning = function(w) {
                              if (grepl("Quick-TRANSfer", conditionMessage(w))) invokeRestart("muffleWarning")
                            })
  variance <- sv$d^2 / sum(sv$d^2)
  list(columns = colnames(Z), center = center, scale = scale, rotation = sv$v,
       centers = km$centers, explained_variance = variance, k = k, n_pc = n_pc)
}

# Soft scores psi_ic = (1 / d_ic) / sum_j (1 / d_ij); a row on a centre is one-hot.
cluster_scores <- function(Z, clustering) {
  standardised <- (Z - rep(clustering$center, each = nrow(Z))) / rep(clustering$scale, each = nrow(Z))
  scores <- standardised %*% clustering$rotation
  distance <- sqrt(pmax(outer(rowSums(scores^2), rep(1, clustering$k)) -
                          2 * scores %*% t(clustering$centers) +
                          outer(rep(1, nrow(scores)), rowSums(clustering$centers^2)), 0))
  inverse <- 1 / distance
  on_centre <- which(distance < 1e-12, arr.ind = TRUE)
  if (nrow(on_centre)) {
    inverse[on_centre[, 1L], ] <- 0
    inverse[on_centre] <- 1
  }
  psi <- inverse / rowSums(inverse)
  colnames(psi) <- paste0("cluster", seq_len(clustering$k))
  psi
}

# The single "contrast" of a PLR fit, in the form new_cate() takes.
plr_contrast <- function(fit) {
  if (fit$score != "partialling out") {
    fd_abort("argument", "{.fn cate_clusters} on a {.fn dml_plr} fit needs the partialling-out score.")
  }
  list(term = names(fit$coefficients), arm = 1L)
}

# CI-DML heterogeneity: weighted residual regression of Y~ on psi * D~ per repetition (the
# fit's weights and trimming), then beta and V averaged over repetitions.
residual_projection <- function(fit, psi, vcov_type) {
  options <- if (is.null(fit$ci_dml)) ci_dml_options() else fit$ci_dml
  cluster <- fit$spec$cluster
  per_rep <- lapply(seq_len(fit$n_rep), function(s) {
    des <- ci_dml_design(fit$spec, fit$nuisances$l[, s], fit$nuisances$m[, s], options, basis = psi)
    if (is.null(cluster)) {
      reg <- weighted_residual_regression(des$ytilde, des$Z, des$w, options$intercept)
      return(list(coefficients = reg$coefficients, vcov = reg$vcov[[vcov_type]]))
    }
    Z <- if (options$intercept) cbind(1, des$Z) else des$Z
    projection <- linear_projection(des$ytilde, Z, des$w, cluster, vcov_type)
    keep <- seq_len(ncol(des$Z)) + options$intercept
    list(coefficients = projection$coefficients[keep], vcov = projection$vcov[keep, keep, drop = FALSE])
  })
  beta <- Reduce(`+`, lapply(per_rep, `[[`, "coefficients")) / length(per_rep)
  V <- Reduce(`+`, lapply(per_rep, function(r) r$vcov + tcrossprod(r$coefficients - beta))) / length(per_rep)
  names(beta) <- colnames(psi)
  dimnames(V) <- list(colnames(psi), colnames(psi))
  list(coefficients = beta, vcov = V)
}

#' @rdname cate_clusters
#' @param object A `fastdml_cate_clusters` object.
#' @param ... Unused.
#' @export
summary.fastdml_cate_clusters <- function(object, level = object$level, ...) {
  check_level(level)
  unit <- predict(object, variance = TRUE)
  half <- stats::qnorm(1 - (1 - level) / 2) * sqrt(unit$variance)
  w <- unit_weights(object$weights, object$n)
  treated <- object$treated
  structure(list(
    method = object$method, level = level, n = object$n,
    hte_mean = sum(w * unit$estimate) / sum(w),
    htt_mean = if (is.null(treated)) NA_real_ else sum((w * unit$estimate)[treated]) / sum(w[treated]),
    share_contains_zero = sum(w * (abs(unit$estimate) <= half)) / sum(w),
    clusters = data.frame(cluster = names(object$coefficients), estimate = unname(object$coefficients),
                          std.error = sqrt(diag(object$vcov)), size = object$cluster_sizes)
  ), class = "summary.fastdml_cate_clusters")
}

#' @export
print.summary.fastdml_cate_clusters <- function(x, digits = 4, ...) {
  cat(cli::format_inline("{.cls fastdml_cate_clusters}: {x$method}"), "\n", sep = "")
  cat(sprintf("HTE mean (all %d rows) %s; HTT mean (treated) %s; %.2f%% of unit %g%% intervals contain 0\n",
              x$n, format(x$hte_mean, digits = digits), format(x$htt_mean, digits = digits),
              100 * x$share_contains_zero, 100 * x$level))
  print(format(x$clusters, digits = digits), row.names = FALSE)
  invisible(x)
}
