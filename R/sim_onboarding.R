#' Simulate the onboarding-bundle study (heterogeneous effects and targeting)
#'
#' The data-generating process of `specs/onboarding-cate.md`: new users, a proactive onboarding
#' bundle assigned in a targeted (confounded) way, and an engagement outcome whose effect varies
#' with the users' traits. Six latent traits are standard normals with pairwise correlation
#' 0.28 (`onboarding_gap`, `prior_sessions`, `content_diversity`, `search_difficulty`,
#' `price_sensitivity`, `device_reliability`); `support_contacts` = min(Poisson(exp(0.10 + 0.25
#' search_difficulty)), 6); `tenure_weeks` = Gamma(3, scale 3) clipped to \[1, 40\];
#' `region_competition`, `market_maturity`, `marketing_pressure`, `account_complexity` standard
#' normal; `referral_organic`, `weekday_signup`, `mobile_primary` and
#' `high_motivation_segment` Bernoulli as in the spec. The true effect is
#' 0.26 + 0.28 gap + 0.20 diversity - 0.22 contacts - 0.16 price + 0.18 motivation
#' + 0.15 max(search, 0) + 0.10 reliability x diversity - 0.12 competition; the propensity is
#' a logistic index clipped to \[0.05, 0.95\]; the outcome is the untreated baseline plus
#' treatment times effect plus N(0, 0.75^2) noise. Afterwards values go missing completely at
#' random: `content_diversity` 3.5%, `search_difficulty` 2.5%, `support_contacts` 2.0%,
#' `device_reliability` 3.0% of rows (each row independently).
#'
#' @param n Number of users (the original study: 5,500).
#' @param seed Optional seed (`set.seed` semantics; the caller's RNG state is restored).
#' @return A data.frame with the 14 covariates (with missing values), `treatment` (0/1),
#'   `outcome`, and the hidden truth `true_cate`, `true_propensity`, `baseline_value`.
#'   Attributes: `true_ate` (mean of `true_cate` in the sample), `cost` (0.18 outcome units per
#'   treated user), `effect_modifiers` and `controls` (the spec's roles).
#' @family simulators
#' @examples
#' d <- sim_onboarding(2000, seed = 1)
#' attr(d, "true_ate")
#' colMeans(is.na(d[attr(d, "effect_modifiers")]))
#' @export
sim_onboarding <- function(n = 5500L, seed = NULL) {
  check_count(n, "n", 2L)
  with_seed(seed, {
    rho <- 0.28
    common <- stats::rnorm(n)
    latent <- sqrt(rho) * common + sqrt(1 - rho) * matrix(stats::rnorm(6 * n), n, 6)
    gap <- latent[, 1]
    sessions <- latent[, 2]
    diversity <- latent[, 3]
    search <- latent[, 4]
    price <- latent[, 5]
    reliability <- latent[, 6]
    contacts <- pmin(stats::rpois(n, exp(0.10 + 0.25 * search)), 6)
    tenure <- pmin(pmax(stats::rgamma(n, shape = 3, scale = 3), 1), 40)
    competition <- stats::rnorm(n)
    maturity <- stats::rnorm(n)
    pressure <- stats::rnorm(n)
    complexity <- stats::rnorm(n)
    organic <- stats::rbinom(n, 1L, stats::plogis(0.15 + 0.25 * diversity))
    weekday <- stats::rbinom(n, 1L, 0.72)
    mobile <- stats::rbinom(n, 1L, stats::plogis(0.05 - 0.20 * reliability))
    motivated <- stats::rbinom(n, 1L, stats::plogis(0.35 * sessions + 0.25 * diversity - 0.10 * price))
    cate <- 0.26 + 0.28 * gap + 0.20 * diversity - 0.22 * contacts - 0.16 * price +
      0.18 * motivated + 0.15 * pmax(search, 0) + 0.10 * reliability * diversity - 0.12 * competition
    propensity <- pmin(pmax(stats::plogis(-0.20 + 0.55 * gap + 0.42 * sessions + 0.35 * motivated +
                                            0.30 * diversity + 0.24 * pressure - 0.28 * reliability +
                                            0.18 * contacts - 0.16 * organic), 0.05), 0.95)
    treatment <- stats::rbinom(n, 1L, propensity)
    baseline <- 1.40 + 0.45 * sessions + 0.35 * diversity - 0.32 * contacts - 0.28 * search -
      0.22 * price + 0.24 * reliability + 0.18 * maturity + 0.12 * organic + 0.08 * weekday +
      0.10 * complexity + 0.05 * sin(tenure / 3)
    outcome <- baseline + treatment * cate + stats::rnorm(n, 0, 0.75)
    out <- data.frame(onboarding_gap = gap, prior_sessions = sessions, content_diversity = diversity,
                      search_difficulty = search, price_sensitivity = price,
                      device_reliability = reliability, support_contacts = contacts,
                      tenure_weeks = tenure, region_competition = competition,
                      market_maturity = maturity, marketing_pressure = pressure,
                      account_complexity = complexity, referral_organic = organic,
                      weekday_signup = weekday, mobile_primary = mobile,
                      high_motivation_segment = motivated, treatment = treatment, outcome = outcome,
                      true_cate = cate, true_propensity = propensity, baseline_value = baseline)
    for (column in names(onboarding_missing_rates)) {
      out[[column]][stats::runif(n) < onboarding_missing_rates[[column]]] <- NA
    }
    attr(out, "true_ate") <- mean(cate)
    attr(out, "cost") <- 0.18
    attr(out, "effect_modifiers") <- c("onboarding_gap", "prior_sessions", "content_diversity",
                                       "search_difficulty", "support_contacts", "price_sensitivity",
                                       "device_reliability", "high_motivation_segment")
    attr(out, "controls") <- c("tenure_weeks", "region_competition", "market_maturity",
                               "marketing_pressure", "account_complexity", "referral_organic",
                               "weekday_signup", "mobile_primary")
    out
  })
}

onboarding_missing_rates <- c(content_diversity = 0.035, search_difficulty = 0.025,
                              support_contacts = 0.020, device_reliability = 0.030)
