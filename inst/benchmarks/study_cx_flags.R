# Simulation study (run by hand, not a test): how stable the overlap and balance flags of the
# coupled CX design (specs/cx-multitreatment.md §3, §4, §6) are, and which of them depend on
# the propensity model rather than on the design.
# Usage, from the package root: Rscript inst/benchmarks/study_cx_flags.R
# Settings: STUDY_FOLD_SEEDS (fold seeds on the spec's data, seed 42; default 10) and
# STUDY_DATA_SEEDS (further data sets, each with fold seed 42; default 5).
# Propensity sources, all with the spec's trim 0.01 and 5 folds:
#   * boost: the default learners (lrn_boost() for the propensities and the outcomes);
#   * logistic: lrn_logistic() (multinomial) for the propensities, lrn_boost() for the outcomes;
#   * oracle: the true propensities of the coupled design (ps_<arm>) and the true outcome
#     probabilities (mu_<arm>) as external nuisances; no learner, so no fold dependence.
# Reported: for every flag of diagnose_overlap() and diagnose_balance() (per contrast, plus
# the baseline ESS ratio), the share of fits with each colour, next to the spec's colour; for
# the ESS ratios the median and range of the value, together with the ungraded ESS ratios of
# the trimmed weights (the weights the scores use); and the bias of each contrast against the
# effect of the data as generated (attr "true_ate"; also in standard errors) and against the
# reference's structural truth (attr "true_ate_structural").
# Writes inst/benchmarks/results/study_cx_flags_<date>.txt.
suppressPackageStartupMessages(library(fastdml))
options(fastdml.progress = FALSE, fastdml.num.threads = 2)
env_count <- function(name, default) {
  value <- Sys.getenv(name, "")
  if (nzchar(value)) as.integer(value) else default
}
fold_seeds <- seq_len(env_count("STUDY_FOLD_SEEDS", 10L))
data_seeds <- seq_len(env_count("STUDY_DATA_SEEDS", 5L))
arms <- c("control", "neg_contact_flg", "error_flg", "neg_contact_flg_error_flg")
contrasts <- c("neg", "error", "both")
spec_colours <- list(
  flag_edge = c("RED", "RED", "RED"), flag_ks = c("RED", "RED", "RED"),
  flag_auc = c("RED", "RED", "RED"), flag_ess_treated = c("GREEN", "GREEN", "YELLOW"),
  flag_ess_baseline = c("YELLOW", "YELLOW", "YELLOW"), flag_clip_m = c("RED", "RED", "RED"),
  overall_flag = c("RED", "RED", "RED"), flag_max_smd = c("RED", "RED", "RED"),
  flag_violations = c("RED", "RED", "RED"))

cx_spec <- function(seed) {
  d <- sim_cx(n = 1e5, seed = seed)
  list(data = d, spec = causal_data(d, outcome = "y", treatment = "arm", control = "control",
                                    covariates = names(d)[1:20]))
}

# The true nuisances of the coupled design: outcome probabilities mu_<arm>, propensities ps_<arm>.
oracle_nuisances <- function(data) {
  c(stats::setNames(lapply(arms, function(a) data[[paste0("mu_", a)]]), paste0("g_", arms)),
    stats::setNames(lapply(arms, function(a) data[[paste0("ps_", a)]]), paste0("m_", arms)))
}

one_fit <- function(cx, source, fold_seed) {
  fit <- suppressWarnings(switch(
    source,
    oracle = dml_multi_irm(cx$spec, trim = 0.01, nuisances = oracle_nuisances(cx$data)),
    logistic = dml_multi_irm(cx$spec, learner_treatment = lrn_logistic(), n_folds = 5,
                             trim = 0.01, seed = fold_seed),
    boost = dml_multi_irm(cx$spec, n_folds = 5, trim = 0.01, seed = fold_seed)))
  bias_true <- unname(coef(fit) - attr(cx$data, "true_ate")[-1])
  ov <- diagnose_overlap(fit)$table
  bal <- diagnose_balance(fit, threshold = 0.10)$summary[1:3]
  data.frame(source = source, fold_seed = fold_seed, contrast = contrasts,
             flag_edge = ov$flag_edge, flag_ks = ov$flag_ks, flag_auc = ov$flag_auc,
             flag_ess_treated = ov$flag_ess_treated, flag_ess_baseline = ov$flag_ess_baseline,
             flag_clip_m = ov$flag_clip_m, overall_flag = ov$overall_flag,
             flag_max_smd = bal$flag_max_smd, flag_violations = bal$flag_violations,
             ess_treated = ov$ess_ratio_treated, ess_baseline = ov$ess_ratio_baseline,
             ess_treated_trimmed = ov$ess_ratio_treated_trimmed,
             ess_baseline_trimmed = ov$ess_ratio_baseline_trimmed,
             frac_violations = bal$frac_violations,
             bias_true = bias_true, z_true = bias_true / fit$se,
             bias_structural = unname(coef(fit) - attr(cx$data, "true_ate_structural")[-1]),
             stringsAsFactors = FALSE)
}

runs <- list()
cx <- cx_spec(42)
for (source in c("boost", "logistic")) {
  for (s in fold_seeds) runs[[length(runs) + 1L]] <- cbind(data_seed = 42, one_fit(cx, source, s))
}
runs[[length(runs) + 1L]] <- cbind(data_seed = 42, one_fit(cx, "oracle", 42))
for (ds in data_seeds) {
  cx_other <- cx_spec(ds)
  for (source in c("boost", "oracle")) {
    runs[[length(runs) + 1L]] <- cbind(data_seed = ds, one_fit(cx_other, source, 42))
  }
}
runs <- do.call(rbind, runs)

colour_shares <- function(rows) {
  out <- list()
  for (flag in names(spec_colours)) {
    for (j in seq_along(contrasts)) {
      values <- rows[[flag]][rows$contrast == contrasts[j]]
      out[[length(out) + 1L]] <- data.frame(
        flag = flag, contrast = contrasts[j], spec = spec_colours[[flag]][j],
        GREEN = mean(values == "GREEN"), YELLOW = mean(values == "YELLOW"),
        RED = mean(values == "RED"), stringsAsFactors = FALSE)
    }
  }
  do.call(rbind, out)
}
value_range <- function(rows, column) {
  vapply(contrasts, function(k) {
    v <- rows[[column]][rows$contrast == k]
    sprintf("%.3f [%.3f, %.3f]", stats::median(v), min(v), max(v))
  }, character(1))
}

result_file <- file.path("inst/benchmarks/results",
                         sprintf("study_cx_flags_%s.txt", format(Sys.Date())))
sink(result_file, split = TRUE)
cat(sprintf("study_cx_flags.R  %s  R %s, %d fold seeds on data seed 42, %d further data seeds\n",
            format(Sys.time(), "%Y-%m-%d %H:%M"), getRversion(), length(fold_seeds),
            length(data_seeds)))
groups <- list(
  "boost, data seed 42, fold seeds vary" = runs$source == "boost" & runs$data_seed == 42,
  "logistic propensity, data seed 42, fold seeds vary" = runs$source == "logistic",
  "boost, data seeds vary (fold seed 42)" = runs$source == "boost" & runs$data_seed != 42,
  "oracle nuisances, data seeds 42 and others" = runs$source == "oracle")
for (label in names(groups)) {
  rows <- runs[groups[[label]], ]
  cat(sprintf("\n== %s (%d fits)\nShare of fits with each colour, by flag and contrast:\n",
              label, nrow(rows) / 3))
  print(colour_shares(rows), row.names = FALSE, digits = 2)
  cat("\nValues, median [min, max] by contrast (neg, error, both):\n")
  for (column in c("ess_treated", "ess_treated_trimmed", "ess_baseline",
                   "ess_baseline_trimmed", "frac_violations", "bias_true", "z_true",
                   "bias_structural")) {
    cat(sprintf("  %-22s %s\n", column, paste(value_range(rows, column), collapse = "  ")))
  }
}
cat("\nSpec (seed notebook, CatBoost): ESS treated .3838 G / .3034 G / .2481 Y, ESS baseline",
    ".2686 Y; violation share .30 / .45 / .65 (all RED).\n")
sink()
