#' Simulate the customer-experience (CX) study with four arms and a binary outcome
#'
#' The data-generating process of the multi-treatment case study (`specs/cx-multitreatment.md`
#' §1, after the Causalis scenario `generate_multi_dml_cx_26`): 20 confounders describe a
#' customer (age, a latent risk score, income, activity counts, product holdings, earlier
#' contacts and applications, satisfaction, two pure-noise columns, channel and region); two
#' binary exposures, a negative contact (C) and an error (R), are drawn independently with
#' logits A(X) and B(X), which gives four arms `control`, `neg_contact_flg`, `error_flg` and
#' `neg_contact_flg_error_flg` (softmax over the scores 0, A, B, A + B). The outcome is binary with
#' logit P(Y = 1 | X, arm k) = g_y(X) + theta_k, theta = (0, 0, -0.65, -0.65): the negative
#' contact has no effect and the error arms lower the outcome probability by about 0.125 on
#' average (by 0.110 in the coupled design, see Details).
#'
#' With `coupled = TRUE` (the default) the random streams are coupled as in the reference
#' notebook: one uniform u_D gives both the customer's channel (web if u_D < .40, app if < .75,
#' partner if < .90, else callcenter) and, through the cumulative arm probabilities in the order
#' above, the arm; a second uniform u_Y gives both the region (A/B/C/D at the cut points
#' .35/.65/.85) and the outcome (with p = P(Y = 1 | X, arm): Y = 1 if u_Y > 1 - p when p <= 0.5,
#' else Y = 1 if u_Y <= p). The channel then almost reveals the arm and the region reveals part of
#' the outcome noise, so overlap and balance diagnostics fail by construction while
#' unconfoundedness still holds. With `coupled = FALSE` channel and region are drawn
#' independently of the arm's and the outcome's uniforms (the intended design). For a given
#' seed both settings draw the same covariates; only `arm` and `y` differ.
#'
#' @param n Number of customers (at least 2).
#' @param seed Optional seed (`set.seed` semantics; the caller's RNG state is restored).
#' @param coupled `TRUE` (default) to reproduce the reference's random-stream coupling (see
#'   Details); `FALSE` for independent draws.
#' @param oracle `TRUE` (default) to append the hidden truth per arm (see Value).
#' @return A data.frame with one row per customer and the columns, in this order:
#'   * 20 numeric confounders: `age` (whole years 18..70), `risk_latent` (N(0, 1)), `income`
#'     (25,000..250,000), `sessions_30d`, `clicks_7d` (counts), `n_products` (count 0..8),
#'     `has_debt` (0/1), `csat_prev` (1..5), `prev_contact`, `prev_repeat`, `prev_apps`,
#'     `prev_util` (0/1), `product_emb_1` (N(0, 1) noise), `product_emb_2` (whole numbers
#'     0..99, noise), `channel_callcenter`, `channel_partner`, `channel_web` (0/1 dummies; the
#'     reference channel is app), `region_B`, `region_C`, `region_D` (0/1 dummies; the
#'     reference region is A).
#'   * `arm`: factor with levels `control`, `neg_contact_flg`, `error_flg`,
#'     `neg_contact_flg_error_flg`.
#'   * `d_control`, `d_neg_contact_flg`, `d_error_flg`, `d_neg_contact_flg_error_flg`: the
#'     one-hot encoding of `arm` (numeric 0/1, exactly one 1 per row).
#'   * `y`: the binary outcome (numeric 0/1).
#'   * With `oracle = TRUE`, per arm k (the same four suffixes as the `d_` columns): `m_k`, the
#'     structural arm probability (softmax of the scores); `g_k` = plogis(g_y + theta_k), the
#'     structural outcome probability; and, for the three non-control arms only, `cate_k` =
#'     g_k - g_control (`cate_control` would be 0 and is left out).
#'   * With `oracle = TRUE` and `coupled = TRUE` also, per arm k: `ps_k` = P(arm = k | X), the
#'     true propensity given the observed covariates (the channel pins u_D to an interval, so
#'     many of these are 0 or 1), and `mu_k` = P(Y(k) = 1 | X), the true outcome probability
#'     (the region pins u_Y to an interval). Without coupling these would equal `m_k` and
#'     `g_k` and are not added.
#'
#'   Attributes: `true_ate`, a named numeric vector with one entry per arm (`control` = 0), the
#'   population average treatment effect E\[Y(k) - Y(control)\] of the data as generated, a
#'   constant that depends on `coupled` but not on `n` or `seed` (see Details);
#'   `true_ate_structural`, the population mean of `cate_k` (the reference's "truth"); and
#'   `coupled`, the value of the argument.
#' @details The covariate distribution is the same with and without coupling. Without
#'   coupling P(Y = 1 | X, arm k) = g_k, so `true_ate` equals `true_ate_structural` =
#'   E\[cate_k\]: 0 for `neg_contact_flg` and -0.124934 for both error arms (the reference
#'   notebook's sample mean at n = 1e5, seed 42, is -0.1250056). With coupling the outcome is a
#'   deterministic function of u_Y and p, and u_Y is partly revealed by the region, so
#'   P(Y(k) = 1 | X) = `mu_k` differs from `g_k` (in region A, for instance, Y = 1 exactly
#'   when p > 0.5) and the causal effect of the error arms is -0.110467 instead; the negative
#'   contact still has no effect. Unconfoundedness holds in both settings (u_D and u_Y are
#'   independent), so a consistent estimator targets `true_ate`. The constants were computed
#'   once by numerical integration (exact sums over the discrete covariates, quadrature over
#'   the continuous ones; accurate to about 1e-6) and agree with a Monte Carlo of 2 x 10^8
#'   draws. For reference, E\[g_control\] = 0.546348 and, with coupling, E\[Y(control)\] =
#'   0.548892.
#' @family simulators
#' @examples
#' d <- sim_cx(n = 2000, seed = 42)
#' table(d$arm)
#' attr(d, "true_ate")             # the effects of the coupled data
#' attr(d, "true_ate_structural")  # E[cate_k], the reference's truth
#' colMeans(d[, c("cate_neg_contact_flg", "cate_error_flg", "cate_neg_contact_flg_error_flg")])
#' mean(d$mu_error_flg - d$mu_control)
#' # the channel leaks the arm under coupling, not without it
#' tapply(d$channel_web, d$arm, mean)
#' d0 <- sim_cx(n = 2000, seed = 42, coupled = FALSE)
#' tapply(d0$channel_web, d0$arm, mean)
#' @export
sim_cx <- function(n = 1e5, seed = NULL, coupled = TRUE, oracle = TRUE) {
  n <- check_count(n, "n", 2L)
  check_flag(coupled, "coupled")
  check_flag(oracle, "oracle")
  with_seed(seed, sim_cx_draw(n, coupled, oracle))
}

sim_cx_arms <- c("control", "neg_contact_flg", "error_flg", "neg_contact_flg_error_flg")

# Population ATE of each arm versus control (see the Details of ?sim_cx): E[cate_k] of the
# structural model, and E[mu_k - mu_control] of the coupled design. Computed by numerical
# integration (exact sums over the discrete covariates, quadrature over risk_latent and income,
# Poisson sums over the counts); a Monte Carlo of 2e8 draws gave -0.124938 (se 2e-6) and
# -0.110488 (se 3e-5).
sim_cx_true_ate <- list(
  structural = c(control = 0, neg_contact_flg = 0, error_flg = -0.124934,
                 neg_contact_flg_error_flg = -0.124934),
  coupled = c(control = 0, neg_contact_flg = 0, error_flg = -0.110467,
              neg_contact_flg_error_flg = -0.110467)
)

sim_cx_draw <- function(n, coupled, oracle) {
  logit <- function(p) log(p / (1 - p))
  # Covariates, in the reference sampler's order. u_channel and u_region are the uniforms of
  # the two categorical draws; under coupling they double as the arm's and the outcome's.
  age <- round(pmin(pmax(stats::rnorm(n, 37, 11), 18), 70))
  a <- (age - 37) / 10
  u_channel <- stats::runif(n)
  u_region <- stats::runif(n)
  risk <- stats::rnorm(n)
  prev_contact <- as.numeric(stats::runif(n) < 0.25)
  prev_repeat <- as.numeric(stats::runif(n) < 0.18)
  prev_apps <- as.numeric(stats::runif(n) < stats::plogis(logit(0.30) + 0.7 * risk + 0.15 * a))
  prev_util <- as.numeric(stats::runif(n) <
                           stats::plogis(logit(0.28) + 1.1 * prev_apps + 0.6 * risk))
  sig_risk <- stats::plogis(risk)
  sessions <- as.numeric(stats::rpois(n, 8 + 2 * sig_risk + 1.2 * prev_apps))
  clicks <- as.numeric(stats::rpois(n, 12 + 3 * sig_risk + 0.8 * prev_apps))
  income <- pmin(pmax(stats::rnorm(n, 85000, 30000) + 8000 * risk, 25000), 250000)
  p_long <- stats::plogis(logit(0.22) + 0.10 * (sessions - 8) / 5)
  n_products <- pmin(as.numeric(stats::rpois(n, 1.6 + 0.3 * sig_risk + 0.4 * prev_util)), 8)
  has_debt <- as.numeric(stats::runif(n) <
                          stats::plogis(-1 + 0.6 * risk + 0.15 * a + 0.25 * prev_apps))
  # channel: web .40, app .35, partner .15, callcenter .10 (cut points on u_channel)
  # 1 web, 2 app, 3 partner, 4 callcenter
  channel <- 1L + (u_channel >= 0.40) + (u_channel >= 0.75) + (u_channel >= 0.90)
  web <- as.numeric(channel == 1L)
  partner <- as.numeric(channel == 3L)
  cc <- as.numeric(channel == 4L)
  c_tilde <- -1.05 + 2.20 * prev_contact + 0.35 * risk + 0.20 * prev_apps + 0.10 * prev_util +
    0.05 * (sessions - 8) + c(-0.15, -0.10, 0.10, 0.35)[channel]
  csat_mean <- 4.2 - 0.4 * stats::plogis(c_tilde) - 0.3 * p_long
  csat_prev <- pmin(pmax(stats::rnorm(n, csat_mean, 0.6), 1), 5)
  product_emb_1 <- stats::rnorm(n)
  product_emb_2 <- floor(stats::runif(n) * 100)
  # region: A .35, B .30, C .20, D .15 (cut points on u_region)
  region <- 1L + (u_region >= 0.35) + (u_region >= 0.65) + (u_region >= 0.85)  # A, B, C, D

  # Assignment: independent C ~ Bern(plogis(A)), R ~ Bern(plogis(B)), i.e. the softmax over the
  # scores (0, A, B, A + B).
  score_a <- -1.15 + 2.20 * prev_contact + 0.35 * risk + 0.20 * prev_apps + 0.10 * prev_util +
    0.05 * (sessions - 8) + 0.45 * cc + 0.20 * partner - 0.05 * web
  score_b <- -1.20 + 1.30 * prev_repeat + 0.45 * a + 0.20 * risk + 0.35 * prev_apps +
    0.15 * prev_util - 0.15 * cc + 0.10 * partner - 0.30 * web
  pa <- stats::plogis(score_a)
  pb <- stats::plogis(score_b)
  m <- cbind((1 - pa) * (1 - pb), pa * (1 - pb), (1 - pa) * pb, pa * pb)
  u_d <- if (coupled) u_channel else stats::runif(n)
  # first arm whose cumulative probability exceeds u_d
  arm <- 1L + (u_d >= m[, 1L]) + (u_d >= m[, 1L] + m[, 2L]) + (u_d >= m[, 1L] + m[, 2L] + m[, 3L])

  # Outcome: logit P(Y = 1 | X, arm k) = g_y(X) + theta_k.
  g_y <- -0.37 + 0.30 * risk + 0.20 * prev_contact + 0.15 * prev_repeat + 0.18 * a +
    0.03 * (log1p(income) - log1p(85000)) + 0.02 * (clicks - 12) / 5 + 1.10 * prev_apps +
    1.35 * prev_util - 0.16 * cc - 0.13 * partner - 0.03 * web +
    c(0, -0.10, -0.20, -0.30)[region] - 0.55 * p_long
  theta <- c(0, 0, -0.65, -0.65)
  p_y <- stats::plogis(g_y + theta[arm])
  u_y <- if (coupled) u_region else stats::runif(n)
  y <- as.numeric(ifelse(p_y <= 0.5, u_y > 1 - p_y, u_y <= p_y))

  out <- data.frame(
    age = age, risk_latent = risk, income = income, sessions_30d = sessions, clicks_7d = clicks,
    n_products = n_products, has_debt = has_debt, csat_prev = csat_prev,
    prev_contact = prev_contact, prev_repeat = prev_repeat, prev_apps = prev_apps,
    prev_util = prev_util, product_emb_1 = product_emb_1, product_emb_2 = product_emb_2,
    channel_callcenter = cc, channel_partner = partner, channel_web = web,
    region_B = as.numeric(region == 2L), region_C = as.numeric(region == 3L),
    region_D = as.numeric(region == 4L),
    arm = factor(sim_cx_arms[arm], levels = sim_cx_arms)
  )
  for (k in seq_along(sim_cx_arms)) out[[paste0("d_", sim_cx_arms[k])]] <- as.numeric(arm == k)
  out$y <- y
  if (oracle) {
    g <- vapply(theta, function(t) stats::plogis(g_y + t), numeric(n))
    for (k in seq_along(sim_cx_arms)) out[[paste0("m_", sim_cx_arms[k])]] <- m[, k]
    for (k in seq_along(sim_cx_arms)) out[[paste0("g_", sim_cx_arms[k])]] <- g[, k]
    for (k in 2:4) out[[paste0("cate_", sim_cx_arms[k])]] <- g[, k] - g[, 1L]
    if (coupled) {
      # u_D given the channel is uniform on the channel's interval; arm k takes the part of it
      # between the cumulative probabilities C_(k-1) and C_k.
      ch_lo <- c(0, 0.40, 0.75, 0.90)[channel]
      ch_hi <- c(0.40, 0.75, 0.90, 1)[channel]
      cum <- cbind(0, m[, 1L], m[, 1L] + m[, 2L], m[, 1L] + m[, 2L] + m[, 3L], 1)
      for (k in seq_along(sim_cx_arms)) {
        out[[paste0("ps_", sim_cx_arms[k])]] <-
          pmax(0, pmin(ch_hi, cum[, k + 1L]) - pmax(ch_lo, cum[, k])) / (ch_hi - ch_lo)
      }
      # u_Y given the region is uniform on the region's interval; Y = 1 on the part of it
      # where the outcome rule fires.
      rg_lo <- c(0, 0.35, 0.65, 0.85)[region]
      rg_hi <- c(0.35, 0.65, 0.85, 1)[region]
      for (k in seq_along(sim_cx_arms)) {
        out[[paste0("mu_", sim_cx_arms[k])]] <- sim_cx_coupled_mu(g[, k], rg_lo, rg_hi)
      }
    }
  }
  attr(out, "true_ate") <- sim_cx_true_ate[[if (coupled) "coupled" else "structural"]]
  attr(out, "true_ate_structural") <- sim_cx_true_ate$structural
  attr(out, "coupled") <- coupled
  out
}

# P(Y = 1 | u_Y uniform on [lo, hi)) under the coupled outcome rule with probability p:
# Y = 1 if u_Y > 1 - p (p <= 0.5), else if u_Y <= p.
sim_cx_coupled_mu <- function(p, lo, hi) {
  hit <- ifelse(p <= 0.5, pmax(0, hi - pmax(lo, 1 - p)), pmax(0, pmin(hi, p) - lo))
  hit / (hi - lo)
}
