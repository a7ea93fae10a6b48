// Rcpp glue for scores and inference: maps y, d, weights and nuisance matrices, evaluates the
// model's score struct and the DML inference (repetitions as tasks on num_threads threads,
// interruptible), and returns plain R lists.
#include <RcppEigen.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/inference/dml_inference.h"
#include "core/scores/irm_score.h"
#include "core/scores/multi_irm_score.h"
#include "core/scores/plr_score.h"
#include "bindings_interrupt.h"

namespace {

const double* optional_real(SEXP x) { return Rf_isNull(x) ? nullptr : REAL(x); }

Rcpp::List as_list(const fastdml::ScoreElements& scores) {
  return Rcpp::List::create(Rcpp::Named("psi_a") = Rcpp::wrap(scores.psi_a),
                            Rcpp::Named("psi_b") = Rcpp::wrap(scores.psi_b));
}

// K pointers to the n x S matrices of a list (NULL entries allowed: nullptr).
std::vector<const double*> matrix_pointers(const Rcpp::List& matrices) {
  std::vector<const double*> out;
  for (R_xlen_t a = 0; a < matrices.size(); ++a) out.push_back(optional_real(matrices[a]));
  return out;
}

// The K - 1 score matrices (n x S each) side by side: n x (S (K - 1)), contrast-major.
Rcpp::NumericMatrix side_by_side(const std::vector<fastdml::ScoreElements>& scores, bool psi_a,
                                 int n, int n_rep) {
  Rcpp::NumericMatrix out(n, n_rep * static_cast<int>(scores.size()));
  for (size_t c = 0; c < scores.size(); ++c) {
    const Eigen::MatrixXd& part = psi_a ? scores[c].psi_a : scores[c].psi_b;
    std::copy(part.data(), part.data() + part.size(),
              out.begin() + static_cast<long long>(c) * n * n_rep);
  }
  return out;
}

fastdml::MultiIrmOptions multi_irm_options(const std::string& estimand, double trim,
                                           bool normalize) {
  fastdml::MultiIrmOptions options;
  options.estimand = estimand == "ATT" ? fastdml::IrmEstimand::kAtt : fastdml::IrmEstimand::kAte;
  options.trim = trim;
  options.normalize = normalize;
  return options;
}

}  // namespace

// [[Rcpp::export(.fastdml_plr_score)]]
Rcpp::List fastdml_plr_score(Rcpp::NumericVector y, Rcpp::NumericVector d, SEXP weights,
                             Rcpp::NumericMatrix l, Rcpp::NumericMatrix m, SEXP g,
                             std::string score, int num_threads) {
  fastdml::PlrOptions options;
  options.score = score == "IV-type" ? fastdml::PlrScoreType::kIvType
                                     : fastdml::PlrScoreType::kPartiallingOut;
  fastdml::PlrNuisances nuisances{REAL(l), REAL(m), optional_real(g)};
  return as_list(fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
    return fastdml::PlrScore(options).compute(REAL(y), REAL(d), optional_real(weights), y.size(),
                                              l.ncol(), nuisances, runner);
  }));
}

// [[Rcpp::export(.fastdml_irm_score)]]
Rcpp::List fastdml_irm_score(Rcpp::NumericVector y, Rcpp::NumericVector d, SEXP weights,
                             Rcpp::NumericMatrix g0, SEXP g1,
                             Rcpp::NumericMatrix m, std::string estimand, double trim,
                             bool normalize, int num_threads) {
  fastdml::IrmOptions options;
  options.estimand = estimand == "ATT" ? fastdml::IrmEstimand::kAtt : fastdml::IrmEstimand::kAte;
  options.trim = trim;
  options.normalize = normalize;
  fastdml::IrmNuisances nuisances{REAL(g0), optional_real(g1), REAL(m)};
  return as_list(fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
    return fastdml::IrmScore(options).compute(REAL(y), REAL(d), optional_real(weights), y.size(),
                                              m.ncol(), nuisances, runner);
  }));
}

// [[Rcpp::export(.fastdml_multi_irm_score)]]
Rcpp::List fastdml_multi_irm_score(Rcpp::NumericVector y, Rcpp::NumericVector arm, SEXP weights,
                                   Rcpp::List g, Rcpp::List m, std::string estimand, double trim,
                                   bool normalize, int num_threads) {
  const int n = y.size(), n_rep = Rcpp::NumericMatrix(m[0]).ncol();
  fastdml::MultiIrmNuisances nuisances{matrix_pointers(g), matrix_pointers(m)};
  const fastdml::MultiIrmScores scores =
      fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
        return fastdml::MultiIrmScore(multi_irm_options(estimand, trim, normalize))
            .compute(REAL(y), REAL(arm), optional_real(weights), n, n_rep, nuisances, runner);
      });
  return Rcpp::List::create(
      Rcpp::Named("psi_a") = side_by_side(scores.contrasts, true, n, n_rep),
      Rcpp::Named("psi_b") = side_by_side(scores.contrasts, false, n, n_rep),
      Rcpp::Named("baseline_psi_a") = side_by_side(scores.baselines, true, n, n_rep),
      Rcpp::Named("baseline_psi_b") = side_by_side(scores.baselines, false, n, n_rep));
}

// [[Rcpp::export(.fastdml_trim_arms)]]
Eigen::MatrixXd fastdml_trim_arms(Rcpp::NumericMatrix m, double trim) {
  std::vector<const double*> columns;
  for (int a = 0; a < m.ncol(); ++a) columns.push_back(REAL(m) + static_cast<long long>(a) * m.nrow());
  return fastdml::MultiIrmScore(multi_irm_options("ATE", trim, false)).trimmed(columns, m.nrow());
}

// [[Rcpp::export(.fastdml_inference)]]
Rcpp::List fastdml_inference(Rcpp::NumericMatrix psi_a, Rcpp::NumericMatrix psi_b, SEXP cluster,
                             int n_clusters, bool cluster_correction, int num_threads) {
  const int n = psi_a.nrow(), n_rep = psi_a.ncol();
  fastdml::ScoreElements scores{fastdml::ConstMatrixMap(REAL(psi_a), n, n_rep),
                                fastdml::ConstMatrixMap(REAL(psi_b), n, n_rep)};
  const int* ids = Rf_isNull(cluster) ? nullptr : INTEGER(cluster);
  fastdml::DmlInferenceOptions options;
  options.cluster_correction = cluster_correction;
  const fastdml::DmlEstimate est =
      fastdml_bindings::with_interruptible_runner(num_threads, [&](const auto& runner) {
        return fastdml::DmlInference(ids, n_clusters, options).estimate(scores, runner);
      });
  return Rcpp::List::create(Rcpp::Named("theta") = est.theta, Rcpp::Named("se") = est.se,
                            Rcpp::Named("theta_rep") = Rcpp::wrap(est.theta_rep),
                            Rcpp::Named("se_rep") = Rcpp::wrap(est.se_rep));
}
