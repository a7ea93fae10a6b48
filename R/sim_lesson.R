#' Simulate the introductory lesson's marketing campaign
#'
#' The data-generating process of the introductory causal-inference lesson
#' (`specs/lesson-basics.md`): customers' age, browsing time and income drive both the chance of
#' receiving a campaign (treatment) and the conversion outcome; the true effect is a constant
#' 0.15. The outcome has no noise term, so every sound method lands close to 0.15 while the
#' naive difference in means is confounded.
#'
#' @param n Number of customers.
#' @param seed Optional seed (`set.seed` semantics; the caller's RNG state is restored).
#' @return A data.frame with columns `age` (integer 18..64), `browsing_time`, `income`,
#'   `treatment` (0/1), `outcome` (in \[0, 1\]), `true_propensity`, `true_effect`; attribute
#'   `true_ate` = 0.15.
#' @family simulators
#' @examples
#' df <- sim_lesson(n = 600, seed = 63)
#' head(df)
#' attr(df, "true_ate")
#' @export
sim_lesson <- function(n = 600L, seed = NULL) {
  check_count(n, "n", 2L)
  with_seed(seed, {
    age <- sample(18:64, n, replace = TRUE)
    browsing_time <- stats::rnorm(n, 4, 1)
    income <- stats::rnorm(n, 55000, 8000)
    baseline <- 0.1 + 0.002 * (age - 30) + 0.00001 * (income - 50000)
    propensity <- stats::plogis(-0.5 + 0.04 * (browsing_time - 4) + 0.00003 * (income - 55000))
    treatment <- stats::rbinom(n, 1L, propensity)
    effect <- rep(0.15, n)
    outcome <- pmin(pmax(baseline + effect * treatment + 0.005 * (browsing_time - 4), 0), 1)
    df <- data.frame(age = age, browsing_time = browsing_time, income = income,
                     treatment = treatment, outcome = outcome,
                     true_propensity = propensity, true_effect = effect)
    attr(df, "true_ate") <- 0.15
    df
  })
}
