// Rcpp glue for the sensitivity analysis: maps the fit's outcome, treatment, weights, clusters,
// nuisances and scores, evaluates the Riesz representer and the sensitivity elements of every
// (term, repetition) as tasks on num_threads threads, and returns their sufficient statistics
// (and, on request, the per-row alpha, m_alpha and g_hat).
#include <RcppEigen.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/sensitivity/riesz_representer.h"
#include "core/sensitivity/sensitivity_elements.h"
#include "bindings_interrupt.h"

namespace {

const double* optional_pointer(SEXP x) { return Rf_isNull(x) ? nullptr : REAL(x); }

std::vector<const double*> column_pointers(const Rcpp::List& matrices) {
  std::vector<const double*> out;
  for (R_xlen_t a = 0; a < matrices.size(); ++a) out.push_back(optional_pointer(matrices[a]));
  return out;
}

}  // namespace

// [[Rcpp::export(.fastdml_sensitivity_stats)]]
Rcpp::List fastdml_sensitivity_stats(std::string model, Rcpp::NumericVector y,
                                     Rcpp::NumericVector d, SEXP weights, SEXP cluster,
                                     int n_clusters, bool cluster_correction,
                                     Rcpp::List nuisances, Rcpp::NumericMatrix psi_a,
                                     Rcpp::NumericMatrix psi_b, Rcpp::NumericMatrix theta,
                                     Rcpp::List options, bool rows, int num_threads) {
  const int n = y.size(), n_rep = theta.nrow(), n_terms = theta.ncol();
  const Eigen::ArrayXd w = fastdml::normalised_weights(optional_pointer(weights), n).array();
  const fastdml::SensitivityElements elements(
      Rf_isNull(cluster) ? nullptr : INTEGER(cluster), n_clusters, cluster_correction);
  const bool plr = model == "plr";
  fastdml::PlrScoreType plr_score = fastdml::PlrScoreType::kPartiallingOut;
  fastdml::MultiIrmOptions arm_options;
  if (plr) {
    if (Rcpp::as<std::string>(options["score"]) == "IV-type") plr_score = fastdml::PlrScoreType::kIvType;
  } else {
    arm_options.estimand = Rcpp::as<std::string>(options["estimand"]) == "ATT"
                               ? fastdml::IrmEstimand::kAtt : fastdml::IrmEstimand::kAte;
    arm_options.trim = Rcpp::as<double>(options["trim"]);
    arm_options.normalize = Rcpp::as<bool>(options["normalize"]);
  }
  Rcpp::NumericMatrix stats(n_terms * n_rep, 6);
  colnames(stats) = Rcpp::CharacterVector::create("sigma2", "nu2", "max_bias_base", "v_if",
                                                  "c_if_s", "v_s");
  const int row_cols = rows ? n_terms * n_rep : 0;
  Rcpp::NumericMatrix alpha(rows ? n : 0, row_cols), m_alpha(rows ? n : 0, row_cols);
  Rcpp::NumericMatrix g_hat(rows ? n : 0, rows ? n_rep : 0);
  double* stats_out = REAL(stats);
  double* alpha_out = REAL(alpha);
  double* m_alpha_out = REAL(m_alpha);
  double* g_hat_out = REAL(g_hat);
  const double* psi_a_in = REAL(psi_a);
  const double* psi_b_in = REAL(psi_b);
  const double* theta_in = REAL(theta);
  const double* y_in = REAL(y);
  const double* d_in = REAL(d);
  // Pointers are taken here: no R API inside the threaded tasks.
  const double* l_in = plr ? optional_pointer(nuisances["l"]) : nullptr;
  const double* m_in = plr ? optional_pointer(nuisances["m"]) : nullptr;
  const double* g_in = plr ? optional_pointer(nuisances["g"]) : nullptr;
  const std::vector<const double*> arm_g = plr ? std::vector<const double*>() : column_pointers(nuisances["g"]);
  const std::vector<const double*> arm_m = plr ? std::vector<const double*>() : column_pointers(nuisances["m"]);
  auto shifted = [](const std::vector<const double*>& base, long long offset) {
    std::vector<const double*> out;
    for (const double* p : base) out.push_back(p == nullptr ? nullptr : p + offset);
    return out;
  };
  fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
    runner.run(n_rep, [&](int s) {
      const long long offset = static_cast<long long>(s) * n;
      std::vector<fastdml::RieszTerms> terms;
      if (plr) {
        terms.push_back(fastdml::RieszRepresenter::plr(plr_score, d_in, w, l_in + offset,
                                                       m_in + offset,
                                                       g_in == nullptr ? nullptr : g_in + offset,
                                                       theta_in[s], n));
      } else {
        terms = fastdml::RieszRepresenter::arms(arm_options, d_in, w, shifted(arm_g, offset),
                                                shifted(arm_m, offset), n);
      }
      for (int t = 0; t < n_terms; ++t) {
        const long long column = static_cast<long long>(t) * n_rep + s;
        const fastdml::ConstVectorMap a(psi_a_in + column * n, n), b(psi_b_in + column * n, n);
        const double theta_st = theta_in[static_cast<long long>(t) * n_rep + s];
        const Eigen::VectorXd influence = -(a * theta_st + b) / a.mean();
        const fastdml::SensitivityStats st = elements.compute(y_in, w, terms[t], influence);
        const double values[6] = {st.sigma2, st.nu2, st.max_bias_base, st.v_if, st.c_if_s, st.v_s};
        for (int j = 0; j < 6; ++j) stats_out[static_cast<long long>(j) * n_terms * n_rep + column] = values[j];
        if (!rows) continue;
        std::copy(terms[t].alpha.data(), terms[t].alpha.data() + n, alpha_out + column * n);
        std::copy(terms[t].m_alpha.data(), terms[t].m_alpha.data() + n, m_alpha_out + column * n);
        if (t == 0) std::copy(terms[t].g_hat.data(), terms[t].g_hat.data() + n, g_hat_out + offset);
      }
    });
    return 0;
  });
  return Rcpp::List::create(Rcpp::Named("stats") = stats, Rcpp::Named("alpha") = alpha,
                            Rcpp::Named("m_alpha") = m_alpha, Rcpp::Named("g_hat") = g_hat);
}
