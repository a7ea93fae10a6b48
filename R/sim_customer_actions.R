#' Simulate customer actions at scale (shared features, many binary actions)
#'
#' The data-generating process of `specs/amazon-ci-dml.md` ("Simulator"): customers described by
#' `n_features` pre-period features and four RFM-like features, and `n_actions` binary actions
#' (treatments), each with its own outcome, placebo outcome and true effects.
#'
#' Per customer: segment g ~ uniform on 1..`n_segments`; factors f = mu_g + N(0, 0.6^2 I_5);
#' features `pre_j` = f L_j' + N(0, 0.5^2); a hidden U ~ N(0, 1) (never returned). The RFM-like
#' features are log-normal in f: `pre_recency` = exp(3 - 0.25 f1 + 0.15 f2 + N(0, 0.4^2)) (days
#' since the last purchase), `pre_frequency` = exp(1.5 + 0.3 f1 + 0.1 f4 + N(0, 0.3^2))
#' (purchases a year), `pre_monetary` = exp(4.5 + 0.35 f1 + 0.15 f3 + N(0, 0.4^2)) (spend),
#' `pre_tenure` = exp(5.5 + 0.2 f5 - 0.1 f2 + N(0, 0.5^2)) (days). Baseline
#' g(f) = 200 + 80 f1 + 40 f2^2 - 30 f3 f4 with noise sd 60 exp(0.3 f3).
#'
#' Action a: D_a ~ Bern(plogis(c_a + s_a z_a + kappa_a U)), z_a = (x'gamma_a - m_a) / v_a, where
#' gamma_a has N(0, 1) entries on 10 randomly chosen `pre_` features (zero elsewhere) and m_a,
#' v_a are the exact population mean and sd of x'gamma_a (so every sample, or chunk, is
#' standardised alike). The participation p_a is log-uniform on \[0.005, 0.4\] and
#' s_a ~ U(1, 1.5); every 5th action is a separation action with p_a = 0.4 and s_a = 5 (its
#' propensities pile up near 0 and 1). The intercept c_a is
#' solved (uniroot on a compressed sample, then Newton steps on the full sample) so that the
#' sample mean of `true_propensity_<a>` equals p_a. The effect is
#' tau_a = b_a (m_(a,g) + 0.2 f1), b_a ~ U(10, 300), m ~ U(0.3, 1.7). The even-numbered actions
#' have hidden selection: kappa_a = 0.5 and lambda_a = 40 (otherwise 0). Outcomes:
#' `post_a` = g + tau_a D_a + lambda_a U + eps and `placebo_a` = g + lambda_a U + eps', with fresh
#' noise of the same sd per action and outcome.
#'
#' Structural parameters (mu, L, gamma, p_a, s_a, b_a, m, kappa, lambda) are drawn from `seed`
#' only; the rows follow in the same stream, or come from `rows_seed`. Calls sharing `seed`
#' therefore share the structure, and a large sample can be written in chunks (different
#' `rows_seed` and `first_id`). Only c_a is solved per sample (it varies by O(n^-1/2)).
#'
#' @param n Number of customers (at least 10).
#' @param n_actions Number of actions (at least 1).
#' @param seed Optional seed of the parameters and, without `rows_seed`, of the rows
#'   (`set.seed` semantics; the caller's RNG state is restored).
#' @param n_features Number of `pre_` features M (at least 10).
#' @param n_segments Number of customer segments (at least 1).
#' @param first_id The first customer id.
#' @param rows_seed Optional seed of the row-level draws (set after the parameters are drawn).
#' @return A data.table with one row per customer and the columns, in this order: `id` (integer,
#'   `first_id` onwards), `segment` (integer), `pre_001` .. `pre_<M>`, `pre_recency`,
#'   `pre_frequency`, `pre_monetary`, `pre_tenure`, and per action a = 1..`n_actions`:
#'   `treatment_<a>` (0/1 double), `post_<a>` (outcome), `placebo_<a>` (placebo outcome, no
#'   effect), `true_cate_<a>` (tau_a) and `true_propensity_<a>` (P(D_a = 1 | X) with U
#'   integrated out by 12-point Gauss-Hermite quadrature; plogis(c_a + s_a z_a) when kappa_a = 0).
#'
#'   Attribute `truth`: a data.table with one row per action and columns `action`, `treatment`,
#'   `outcome`, `placebo` (column names), `participation` (mean of D_a), `ate` (mean of tau_a),
#'   `att` (its mean over the treated), `hidden_selection`, `kappa`, `lambda`, `separation`, and
#'   `placebo_bias`, the oracle bias of an ATT estimator adjusting perfectly for X but not U:
#'   the mean over treated rows of lambda_a (U_i - E\[U | D_a = 0, X_i\]) (0 when kappa_a = 0;
#'   `att` and a nonzero bias are NaN when no row is treated).
#'
#'   Attribute `parameters`: a list with `segment_prob`, `factor_means` (n_segments x 5),
#'   `factor_sd`, `feature_sd`, `loadings` (M x 5), `rfm` (4 x 7: intercept, coefficients on f1..f5,
#'   noise sd), `baseline` (intercept, f1, f2^2, f3 f4), `noise` (60, 0.3), `gamma` (M x
#'   n_actions), `multipliers` (m, n_actions x n_segments), `quadrature` (`nodes`, `weights` for
#'   a standard normal), `actions` (a data.table: `action`, `participation` (target p_a), `s`,
#'   `b`, `kappa`, `lambda`, `separation`, `z_mean`, `z_sd`, and `intercept` c_a, solved on this
#'   sample) and, for n <= 10,000 only, `latent`: `factors` (n x 5), `u`, `baseline`, `noise_sd`,
#'   `noise_post` and `noise_placebo` (n x n_actions).
#' @family simulators
#' @examples
#' d <- sim_customer_actions(2000, n_actions = 4, seed = 1)
#' attr(d, "truth")
#' # chunks sharing the structure
#' d2 <- sim_customer_actions(2000, n_actions = 4, seed = 1, first_id = 2001, rows_seed = 2)
#' range(d2$id)
#' @export
sim_customer_actions <- function(n = 1e5, n_actions = 10, seed = NULL, n_features = 50,
                                 n_segments = 6, first_id = 1, rows_seed = NULL) {
  n <- check_count(n, "n", 10L)
  n_actions <- check_count(n_actions, "n_actions", 1L)
  n_features <- check_count(n_features, "n_features", 10L)
  n_segments <- check_count(n_segments, "n_segments", 1L)
  if (!is.numeric(first_id) || length(first_id) != 1L || !is.finite(first_id) ||
      first_id != round(first_id) || first_id < 0 ||
      as.double(first_id) + n - 1 > .Machine$integer.max) {
    fd_abort("argument", "{.arg first_id} must be a whole number >= 0 with {.code first_id + n - 1} at most {format(.Machine$integer.max, big.mark = ',')}, not {.val {format_value(first_id)}}.")
  }
  if (!is.null(rows_seed) && !(is.numeric(rows_seed) && length(rows_seed) == 1L &&
                               is.finite(rows_seed) && abs(rows_seed) <= .Machine$integer.max)) {
    fd_abort("argument", "{.arg rows_seed} must be a single whole number or {.code NULL}, not {.val {format_value(rows_seed)}}.")
  }
  with_seed(seed, {
    par <- sca_parameters(n_actions, n_features, n_segments)
    with_seed(rows_seed, sca_rows(n, as.integer(first_id), par))
  })
}

# The structural parameters: the only draws made from `seed` before the rows.
sca_parameters <- function(n_actions, n_features, n_segments) {
  A <- n_actions
  pre <- sprintf("pre_%03d", seq_len(n_features))
  mu <- matrix(stats::rnorm(n_segments * 5L, 0, 1.5), n_segments, 5L)
  loadings <- matrix(stats::rnorm(n_features * 5L, 0, sqrt(0.2)), n_features, 5L,
                     dimnames = list(pre, paste0("f", 1:5)))
  participation <- exp(stats::runif(A, log(0.005), log(0.4)))
  s <- stats::runif(A, 1, 1.5)
  b <- stats::runif(A, 10, 300)
  multipliers <- matrix(stats::runif(A * n_segments, 0.3, 1.7), A, n_segments)
  gamma <- matrix(0, n_features, A, dimnames = list(pre, paste0("action_", seq_len(A))))
  for (a in seq_len(A)) gamma[sample.int(n_features, 10L), a] <- stats::rnorm(10L)
  separation <- seq_len(A) %% 5L == 0L
  participation[separation] <- 0.4
  s[separation] <- 5
  hidden <- seq_len(A) %% 2L == 0L
  # Exact population moments of x'gamma: f is a uniform mixture over the segments.
  v <- crossprod(loadings, gamma)
  mu_bar <- colMeans(mu)
  sigma_f <- diag(0.36, 5L) + crossprod(sweep(mu, 2L, mu_bar)) / n_segments
  # Gauss-Hermite rule for a standard normal (Golub-Welsch).
  K <- 12L
  jacobi <- matrix(0, K, K)
  jacobi[cbind(1:(K - 1L), 2:K)] <- jacobi[cbind(2:K, 1:(K - 1L))] <- sqrt(seq_len(K - 1L))
  eig <- eigen(jacobi, symmetric = TRUE)
  list(segment_prob = rep(1 / n_segments, n_segments), factor_means = mu, factor_sd = 0.6,
       feature_sd = 0.5, loadings = loadings,
       rfm = rbind(pre_recency = c(3, -0.25, 0.15, 0, 0, 0, 0.4),
                   pre_frequency = c(1.5, 0.3, 0, 0, 0.1, 0, 0.3),
                   pre_monetary = c(4.5, 0.35, 0, 0.15, 0, 0, 0.4),
                   pre_tenure = c(5.5, 0, -0.1, 0, 0, 0.2, 0.5)),
       baseline = c(200, 80, 40, -30), noise = c(60, 0.3), gamma = gamma,
       multipliers = multipliers,
       quadrature = list(nodes = eig$values, weights = eig$vectors[1L, ]^2),
       actions = data.table::data.table(
         action = seq_len(A), participation = participation, s = s, b = b,
         kappa = ifelse(hidden, 0.5, 0), lambda = ifelse(hidden, 40, 0), separation = separation,
         z_mean = unname(drop(mu_bar %*% v)),
         z_sd = unname(sqrt(colSums(v * (sigma_f %*% v)) + 0.25 * colSums(gamma^2))),
         intercept = NA_real_))
}

# The row-level draws, in this order: segments, factor noise, features, RFM noise, U, then per
# action the treatment uniforms, the outcome noise and the placebo noise.
sca_rows <- function(n, first_id, par) {
  seg <- sample.int(length(par$segment_prob), n, replace = TRUE)
  f <- par$factor_means[seg, , drop = FALSE] + matrix(stats::rnorm(n * 5L, 0, par$factor_sd), n, 5L)
  pre <- rownames(par$loadings)
  cols <- list(id = seq.int(first_id, length.out = n), segment = seg)
  for (j in seq_along(pre)) {
    cols[[pre[j]]] <- drop(f %*% par$loadings[j, ]) + stats::rnorm(n, 0, par$feature_sd)
  }
  for (r in rownames(par$rfm)) {
    k <- par$rfm[r, ]
    cols[[r]] <- exp(k[1L] + drop(f %*% k[2:6]) + stats::rnorm(n, 0, k[7L]))
  }
  u <- stats::rnorm(n)
  base <- par$baseline
  g <- base[1L] + base[2L] * f[, 1L] + base[3L] * f[, 2L]^2 + base[4L] * f[, 3L] * f[, 4L]
  noise_sd <- par$noise[1L] * exp(par$noise[2L] * f[, 3L])
  actions <- par$actions
  A <- nrow(actions)
  keep <- n <= 1e4
  if (keep) noise_post <- noise_placebo <- matrix(NA_real_, n, A)
  truth <- vector("list", A)
  for (a in seq_len(A)) {
    act <- actions[a]
    chosen <- which(par$gamma[, a] != 0)
    xg <- 0
    for (j in chosen) xg <- xg + par$gamma[j, a] * cols[[pre[j]]]
    sz <- act$s * (xg - act$z_mean) / act$z_sd
    sol <- sca_intercept(act$participation, sz, act$kappa, par$quadrature)
    data.table::set(actions, a, "intercept", sol$intercept)
    d <- as.numeric(stats::runif(n) < stats::plogis(sol$intercept + sz + act$kappa * u))
    tau <- act$b * (par$multipliers[a, seg] + 0.2 * f[, 1L])
    eps <- noise_sd * stats::rnorm(n)
    eps_placebo <- noise_sd * stats::rnorm(n)
    if (keep) noise_post[, a] <- eps
    if (keep) noise_placebo[, a] <- eps_placebo
    treated <- d == 1
    bias <- 0
    if (act$kappa != 0) {
      eu0 <- sca_mean_u_untreated(sol$intercept + sz[treated], act$kappa, par$quadrature)
      bias <- act$lambda * mean(u[treated] - eu0)
    }
    names_a <- paste0(c("treatment_", "post_", "placebo_", "true_cate_", "true_propensity_"), a)
    cols[names_a] <- list(d, g + tau * d + act$lambda * u + eps, g + act$lambda * u + eps_placebo,
                          tau, sol$propensity)
    truth[[a]] <- list(action = a, treatment = names_a[1L], outcome = names_a[2L],
                       placebo = names_a[3L], participation = mean(d), ate = mean(tau),
                       att = mean(tau[treated]), hidden_selection = act$kappa != 0,
                       kappa = act$kappa, lambda = act$lambda, separation = act$separation,
                       placebo_bias = bias)
  }
  par$actions <- actions
  if (keep) {
    par$latent <- list(factors = f, u = u, baseline = g, noise_sd = noise_sd,
                       noise_post = noise_post, noise_placebo = noise_placebo)
  }
  out <- data.table::setDT(cols)
  data.table::setattr(out, "truth", data.table::rbindlist(truth))
  data.table::setattr(out, "parameters", par)
  out
}

# P(D = 1 | X) = E_U plogis(a + kappa U) and its derivative in a, by the quadrature rule
# (exact plogis when kappa = 0).
sca_propensity <- function(a, kappa, quadrature) {
  if (kappa == 0) {
    p <- stats::plogis(a)
    return(list(p = p, dp = p * (1 - p)))
  }
  e <- exp(-pmin(pmax(a, -500), 500))
  p <- dp <- 0
  for (k in seq_along(quadrature$nodes)) {
    t <- e * exp(-kappa * quadrature$nodes[k])
    pk <- 1 / (1 + t)
    p <- p + quadrature$weights[k] * pk
    dp <- dp + quadrature$weights[k] * pk * pk * t
  }
  list(p = p, dp = dp)
}

# E[U | D = 0, X] = -kappa E[p (1 - p)] / E[1 - p] (Stein's lemma), p = plogis(a + kappa U).
sca_mean_u_untreated <- function(a, kappa, quadrature) {
  e <- exp(-pmin(pmax(a, -500), 500))
  num <- den <- 0
  for (k in seq_along(quadrature$nodes)) {
    t <- e * exp(-kappa * quadrature$nodes[k])
    q <- t / (1 + t)
    num <- num + quadrature$weights[k] * q / (1 + t)
    den <- den + quadrature$weights[k] * q
  }
  -kappa * num / den
}

# The intercept c with mean(P(D = 1 | X)) = target on this sample: uniroot on the means of
# 32768 equal-count groups of the sorted index (error ~ 1e-6), then Newton steps on all rows.
sca_intercept <- function(target, sz, kappa, quadrature) {
  n <- length(sz)
  cuts <- round(seq(0, n, length.out = min(n, 32768L) + 1L))
  sums <- c(0, cumsum(sort(sz, method = "radix")))[cuts + 1L]
  size <- diff(cuts)
  centre <- diff(sums) / size
  gap <- function(c) sum(size * sca_propensity(c + centre, kappa, quadrature)$p) / n - target
  c0 <- stats::uniroot(gap, stats::qlogis(target) + c(-5, 5), extendInt = "upX", tol = 1e-10)$root
  for (iteration in 1:50) {
    ps <- sca_propensity(c0 + sz, kappa, quadrature)
    delta <- (target - mean(ps$p)) / mean(ps$dp)
    c0 <- c0 + delta
    if (abs(delta) < 1e-5) break
  }
  p <- if (kappa == 0) stats::plogis(c0 + sz) else ps$p + delta * ps$dp  # exact to 5e-12
  list(intercept = c0, propensity = p)
}
