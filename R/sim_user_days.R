#' Simulate the recommender-system user-day panel (doubly robust heterogeneous effects)
#'
#' The data-generating process of `specs/recsys-aipw.md`: a panel of users observed day by day,
#' a "high-watch-exposure day" treatment assigned from the users' recent history, and an
#' outcome counting the interactions of the following seven days. Days run over
#' t = 0, ..., `n_days` + 6 (day 0 is a Sunday, dated 2023-01-01); rows are kept for
#' t = 3, ..., `n_days` - 1 (three lag days are needed, and the outcome uses days t + 1 to t + 7).
#'
#' Per user: activity u ~ N(0, 0.35^2), taste q ~ N(0, 0.5^2), burst flag b ~ Bern(0.05).
#' Day-of-week shifts (Sunday to Saturday) omega = (0.10, -0.05, 0, 0, 0, 0.03, 0.08). The days
#' are generated in time order (vectorised over users):
#' * latent log-activity l_t = u + 0.6 (l_(t-1) - u) + omega_dow(t) + N(0, 0.3^2), started at
#'   l_0 = u + omega_Sunday + N(0, 0.3^2);
#' * treatment A_t ~ Bern(0.5) for t < 3, else Bern(e_t) with
#'   logit e_t = 2.2 (H3 - 1.65) + 0.3 (log1p(I3) - log 150) + 0.2 \[Sunday\], where H3 and I3
#'   are the sums of the high-watch share and of the interactions over days t - 3 to t - 1;
#' * interactions I_t = 0 with probability 0.08, else Poisson(45 exp(l_t + 0.1 A_(t-1)))
#'   (treatment-confounder feedback; A_(-1) = 0); high-watch share
#'   h_t = expit(-0.6 + 1.6 A_t + q + N(0, 0.3^2)); watch ratio
#'   r_t = exp(-0.2 + 0.35 A_t + 0.5 q + N(0, 0.25^2)); play seconds 9 I_t r_t; active
#'   1\{I_t > 0\}.
#'
#' The true effect is tau(x) = tau0 + tau1 (log1p(I3) - log 150) / 0.5 - tau2 (H3 - 1.65) / 0.5
#' and the outcome Y_t = sum_(s = 1..7) 45 exp(l_(t+s)) + tau(x) A_t + eps_t with
#' eps ~ N(0, 40^2), multiplied by an independent t draw with 2 degrees of freedom for burst
#' users (heavy-tailed scores). The propensity depends on observed history only, so
#' unconfoundedness holds given the covariates; rows of a user are dependent (shared u, q and
#' overlapping outcome windows), so inference should be clustered by `user_id`.
#'
#' @param n_users Number of users (at least 1; the reference panel has 91).
#' @param n_days Number of panel days (at least 4); each user contributes `n_days` - 3 rows.
#' @param seed Optional seed (`set.seed` semantics; the caller's RNG state is restored).
#' @param tau The effect coefficients `c(tau0, tau1, tau2)` of the true effect (see Details).
#' @return A data.frame with one row per user-day, ordered by user and day, and the columns:
#'   `user_id` (integer), `day` (t, integer), `event_date` (Date), `day_of_week` (integer,
#'   0 = Sunday to 6 = Saturday), the lag-1 day values `lag1_active`, `lag1_interactions`,
#'   `lag1_play_seconds`, `lag1_watch_ratio`, `lag1_high_watch_share`, the same five summed over
#'   days t - 3 to t - 1 (`prior_3day_active`, ..., `prior_3day_high_watch_share`),
#'   `calendar_day_index` (t), `panel_day_index` (t - 3), `treatment` (0/1 integer), `outcome`,
#'   and the hidden truth `true_propensity` and `true_cate`.
#'   Attributes: `true_ate` (mean of `true_cate`), `true_att` (its mean over treated rows),
#'   `params` (the constants of the process, including `tau`) and `covariates` (the names of the
#'   13 pre-treatment covariates).
#' @details Calibration at 3,000 users and 55 days (30 seeds): treated share about 0.48, mean
#'   outcome about 380 (sd about 180, heavy-tailed), sd of the true effect about 14, ATE about
#'   1.3 and ATT about -3.2 (treatment rises with `prior_3day_high_watch_share` while the effect
#'   falls with it); by quartile of `prior_3day_high_watch_share` the treatment rates are about
#'   0.13, 0.33, 0.62, 0.84 and the mean true effects about +12.9, +4.8, -2.7, -10.0.
#' @family simulators
#' @examples
#' p <- sim_user_days(91, 55, seed = 42)
#' dim(p)
#' c(ate = attr(p, "true_ate"), att = attr(p, "true_att"))
#' mean(p$treatment)
#' head(p[, c("user_id", "day", "event_date", "prior_3day_high_watch_share", "treatment")])
#' @export
sim_user_days <- function(n_users = 91L, n_days = 55L, seed = NULL, tau = c(2, 10, 8)) {
  n_users <- check_count(n_users, "n_users", 1L)
  n_days <- check_count(n_days, "n_days", 4L)
  if (!is.numeric(tau) || length(tau) != 3L || !all(is.finite(tau))) {
    fd_abort("argument", "{.arg tau} must be a finite numeric vector of length 3 (tau0, tau1, tau2).")
  }
  tau <- as.numeric(tau)
  with_seed(seed, sim_user_days_draw(n_users, n_days, tau))
}

# The constants of the process (`attr(, "params")`).
sim_user_days_params <- function(tau) {
  list(sd_activity = 0.35, sd_taste = 0.5, p_burst = 0.05,
       dow_shift = c(Sun = 0.10, Mon = -0.05, Tue = 0, Wed = 0, Thu = 0, Fri = 0.03, Sat = 0.08),
       ar = 0.6, sd_latent = 0.3, p_inactive = 0.08, base_rate = 45, feedback = 0.1,
       high_watch = c(intercept = -0.6, treatment = 1.6, taste = 1, sd = 0.3),
       watch_ratio = c(intercept = -0.2, treatment = 0.35, taste = 0.5, sd = 0.25),
       play_scale = 9, p_treat_burnin = 0.5,
       propensity = c(h3 = 2.2, h3_center = 1.65, log_i3 = 0.3, i3_center = 150, sunday = 0.2),
       tau = c(tau0 = tau[1L], tau1 = tau[2L], tau2 = tau[3L]), effect_scale = 0.5,
       horizon = 7L, sd_noise = 40, burst_df = 2, lags = 3L, start_date = as.Date("2023-01-01"))
}

sim_user_days_covariates <- c(
  "lag1_active", "lag1_interactions", "lag1_play_seconds", "lag1_watch_ratio",
  "lag1_high_watch_share", "prior_3day_active", "prior_3day_interactions",
  "prior_3day_play_seconds", "prior_3day_watch_ratio", "prior_3day_high_watch_share",
  "calendar_day_index", "panel_day_index", "day_of_week")

sim_user_days_draw <- function(n, n_days, tau) {
  pr <- sim_user_days_params(tau)
  n_total <- n_days + pr$horizon            # days 0 .. n_days + 6
  act <- stats::rnorm(n, 0, pr$sd_activity)
  taste <- stats::rnorm(n, 0, pr$sd_taste)
  burst <- stats::rbinom(n, 1L, pr$p_burst)
  # n x day matrices; column j holds day t = j - 1. Observed values exist for t < n_days.
  latent <- matrix(NA_real_, n, n_total)
  inter <- high <- ratio <- prop <- matrix(NA_real_, n, n_days)
  treat <- matrix(NA_integer_, n, n_days)
  pc <- pr$propensity
  for (j in seq_len(n_total)) {
    t <- j - 1L
    shift <- pr$dow_shift[[t %% 7L + 1L]]
    noise <- stats::rnorm(n, 0, pr$sd_latent)
    latent[, j] <- if (j == 1L) act + shift + noise else
      act + pr$ar * (latent[, j - 1L] - act) + shift + noise
    if (t >= n_days) next
    if (t < pr$lags) {
      prop[, j] <- pr$p_treat_burnin
    } else {
      # same summation order as the returned prior_3day_* columns
      h3 <- high[, j - 3L] + high[, j - 2L] + high[, j - 1L]
      i3 <- inter[, j - 3L] + inter[, j - 2L] + inter[, j - 1L]
      prop[, j] <- stats::plogis(pc[["h3"]] * (h3 - pc[["h3_center"]]) +
                                   pc[["log_i3"]] * (log1p(i3) - log(pc[["i3_center"]])) +
                                   pc[["sunday"]] * (t %% 7L == 0L))
    }
    treat[, j] <- stats::rbinom(n, 1L, prop[, j])
    a_prev <- if (j == 1L) 0 else treat[, j - 1L]
    inactive <- stats::runif(n) < pr$p_inactive
    counts <- stats::rpois(n, pr$base_rate * exp(latent[, j] + pr$feedback * a_prev))
    inter[, j] <- ifelse(inactive, 0, counts)
    hw <- pr$high_watch
    high[, j] <- stats::plogis(hw[["intercept"]] + hw[["treatment"]] * treat[, j] +
                                 hw[["taste"]] * taste + stats::rnorm(n, 0, hw[["sd"]]))
    wr <- pr$watch_ratio
    ratio[, j] <- exp(wr[["intercept"]] + wr[["treatment"]] * treat[, j] + wr[["taste"]] * taste +
                        stats::rnorm(n, 0, wr[["sd"]]))
  }
  play <- pr$play_scale * inter * ratio
  active <- (inter > 0) * 1
  # Kept rows t = 3 .. n_days - 1 (columns kept_j), ordered by user, then day.
  kept_t <- pr$lags:(n_days - 1L)
  kept_j <- kept_t + 1L
  n_kept <- length(kept_t)
  by_row <- function(m, cols) as.vector(t(m[, cols, drop = FALSE]))   # user-major order
  lag1 <- function(m) by_row(m, kept_j - 1L)
  prior3 <- function(m) by_row(m, kept_j - 3L) + by_row(m, kept_j - 2L) + by_row(m, kept_j - 1L)
  # Outcome: interactions-scale activity over the following seven days.
  future <- matrix(0, n, n_kept)
  for (s in seq_len(pr$horizon)) future <- future + pr$base_rate * exp(latent[, kept_j + s, drop = FALSE])
  day <- rep(kept_t, times = n)
  h3 <- prior3(high)
  i3 <- prior3(inter)
  cate <- pr$tau[[1L]] + pr$tau[[2L]] * (log1p(i3) - log(pc[["i3_center"]])) / pr$effect_scale -
    pr$tau[[3L]] * (h3 - pc[["h3_center"]]) / pr$effect_scale
  a <- by_row(treat, kept_j)
  user <- rep(seq_len(n), each = n_kept)
  eps <- stats::rnorm(n * n_kept, 0, pr$sd_noise)
  heavy <- stats::rt(n * n_kept, df = pr$burst_df)
  eps <- ifelse(burst[user] == 1L, eps * heavy, eps)
  outcome <- as.vector(t(future)) + cate * a + eps
  out <- data.frame(
    user_id = user, day = day, event_date = pr$start_date + day, day_of_week = day %% 7L,
    lag1_active = lag1(active), lag1_interactions = lag1(inter), lag1_play_seconds = lag1(play),
    lag1_watch_ratio = lag1(ratio), lag1_high_watch_share = lag1(high),
    prior_3day_active = prior3(active), prior_3day_interactions = i3,
    prior_3day_play_seconds = prior3(play), prior_3day_watch_ratio = prior3(ratio),
    prior_3day_high_watch_share = h3, calendar_day_index = day, panel_day_index = day - pr$lags,
    treatment = a, outcome = outcome, true_propensity = by_row(prop, kept_j), true_cate = cate
  )
  attr(out, "true_ate") <- mean(cate)
  attr(out, "true_att") <- if (any(a == 1L)) mean(cate[a == 1L]) else NA_real_
  attr(out, "params") <- pr
  attr(out, "covariates") <- sim_user_days_covariates
  out
}
