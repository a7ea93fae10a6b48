// Rcpp glue for diagnostics of the cross-fitted nuisances (out-of-fold prediction quality).
#include <Rcpp.h>

#include <cmath>

#include "core/diagnostics/prediction_quality.h"
#include "bindings_interrupt.h"

namespace {
double na_if_nan(double x) { return std::isnan(x) ? NA_REAL : x; }
}  // namespace

// [[Rcpp::export(.fastdml_quality)]]
Rcpp::List fastdml_quality(Rcpp::List targets, Rcpp::List predictions, Rcpp::List masks,
                           Rcpp::IntegerMatrix folds, int num_threads) {
  const int n = folds.nrow();
  fastdml::FoldPlan plan(INTEGER(folds), n, folds.ncol());
  std::vector<fastdml::PredictionQuality> nuisances;
  for (R_xlen_t j = 0; j < targets.size(); ++j) {
    Rcpp::NumericVector target = targets[j];
    Rcpp::NumericMatrix prediction = predictions[j];
    if (target.size() != n || prediction.nrow() != n || prediction.ncol() != folds.ncol()) {
      Rcpp::stop("quality: target, predictions and folds differ in size");
    }
    SEXP mask = masks[j];
    nuisances.emplace_back(REAL(target), REAL(prediction), Rf_isNull(mask) ? nullptr : INTEGER(mask));
  }
  const auto tables =
      fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
        return fastdml::PredictionQuality::compute_all(nuisances, plan, runner);
      });
  Rcpp::List out(tables.size());
  for (size_t j = 0; j < tables.size(); ++j) {
    const auto& rows = tables[j];
    const size_t m = rows.size();
    Rcpp::IntegerVector rep(m), fold(m), count(m);
    Rcpp::NumericVector rmse(m), r2(m), log_loss(m), auc(m);
    for (size_t r = 0; r < m; ++r) {
      rep[r] = rows[r].rep + 1;
      fold[r] = rows[r].fold < 0 ? NA_INTEGER : rows[r].fold + 1;
      count[r] = static_cast<int>(rows[r].n);
      rmse[r] = na_if_nan(rows[r].rmse);
      r2[r] = na_if_nan(rows[r].r2);
      log_loss[r] = na_if_nan(rows[r].log_loss);
      auc[r] = na_if_nan(rows[r].auc);
    }
    out[j] = Rcpp::DataFrame::create(Rcpp::Named("rep") = rep, Rcpp::Named("fold") = fold,
                                     Rcpp::Named("n") = count, Rcpp::Named("rmse") = rmse,
                                     Rcpp::Named("r2") = r2, Rcpp::Named("log_loss") = log_loss,
                                     Rcpp::Named("auc") = auc);
  }
  return out;
}
