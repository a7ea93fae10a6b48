// Rcpp glue for the sufficient-statistics passes of the scale-out back ends
// (core/scale/: fold Grams, fold-model logistic sums and out-of-fold predictions of a chunk).
// The chunk arrives as an R double matrix mapped without a copy; fold ids are 1-based.
#include <RcppEigen.h>

#include "bindings_interrupt.h"
#include "core/scale/chunk_design.h"
#include "core/scale/fold_gram.h"
#include "core/scale/fold_models.h"

namespace {

fastdml::ChunkDesign chunk_design(const Eigen::Map<Eigen::MatrixXd>& X, const Rcpp::IntegerVector& fold,
                                  int n_folds, const Eigen::Map<Eigen::VectorXd>& center,
                                  const Eigen::Map<Eigen::VectorXd>& scale) {
  if (fold.size() != X.rows() || center.size() != X.cols() || scale.size() != X.cols()) {
    Rcpp::stop("scale-out pass: the chunk, its folds and the standardisation do not match");
  }
  return fastdml::ChunkDesign(X.data(), static_cast<int>(X.rows()), static_cast<int>(X.cols()),
                              fold.begin(), n_folds, center.data(), scale.data());
}

}  // namespace

// [[Rcpp::export(.fastdml_chunk_gram)]]
Eigen::MatrixXd fastdml_chunk_gram(Eigen::Map<Eigen::MatrixXd> X, Rcpp::IntegerVector fold,
                                   int n_folds, Eigen::Map<Eigen::VectorXd> center,
                                   Eigen::Map<Eigen::VectorXd> scale,
                                   Eigen::Map<Eigen::MatrixXd> targets, int num_threads) {
  const auto design = chunk_design(X, fold, n_folds, center, scale);
  if (targets.rows() != X.rows() && targets.cols() > 0) Rcpp::stop("chunk Gram: targets have the wrong number of rows");
  const fastdml::FoldGram gram(design, targets.data(), static_cast<int>(targets.cols()));
  return fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) { return gram.compute(runner); });
}

// [[Rcpp::export(.fastdml_chunk_logistic)]]
Rcpp::List fastdml_chunk_logistic(Eigen::Map<Eigen::MatrixXd> X, Rcpp::IntegerVector fold,
                                  int n_folds, Eigen::Map<Eigen::VectorXd> center,
                                  Eigen::Map<Eigen::VectorXd> scale,
                                  Eigen::Map<Eigen::MatrixXd> targets, Eigen::MatrixXd coef,
                                  std::vector<int> target, std::vector<int> held_out,
                                  int num_threads) {
  const auto design = chunk_design(X, fold, n_folds, center, scale);
  if (targets.rows() != X.rows()) Rcpp::stop("chunk logistic sums: targets have the wrong number of rows");
  const fastdml::FoldModels models(design, coef, target, held_out);
  const fastdml::LogisticSums sums = fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) { return models.logistic_sums(targets.data(), runner); });
  return Rcpp::List::create(Rcpp::Named("gradient") = sums.gradient,
                            Rcpp::Named("deviance") = sums.deviance);
}

// [[Rcpp::export(.fastdml_chunk_predict)]]
Eigen::MatrixXd fastdml_chunk_predict(Eigen::Map<Eigen::MatrixXd> X, Rcpp::IntegerVector fold,
                                      int n_folds, Eigen::Map<Eigen::VectorXd> center,
                                      Eigen::Map<Eigen::VectorXd> scale, Eigen::MatrixXd coef,
                                      int num_threads) {
  const auto design = chunk_design(X, fold, n_folds, center, scale);
  const std::vector<int> none(coef.cols(), 0);
  const fastdml::FoldModels models(design, coef, none, none);
  return fastdml_bindings::with_interruptible_runner(
      num_threads, [&](const auto& runner) { return models.out_of_fold(runner); });
}
