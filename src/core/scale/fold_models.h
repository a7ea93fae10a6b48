// FoldModels: linear predictors of many cross-fitted models on a chunk, where model m belongs to
// target column target[m] and is trained without fold held_out[m] (specs/amazon-ci-dml.md
// §Scale-out, logistic IRLS: "all K fold models advance in the same pass"). It gives
// (a) the logistic gradients sum_{fold != k} (d - p) z and deviances of every model, the only
// full-data sums of the gradient iterations of the scale-out logistic fit, and (b) the
// out-of-fold prediction of each row from the model that held out the row's fold.
#ifndef FASTDML_SCALE_FOLD_MODELS_H
#define FASTDML_SCALE_FOLD_MODELS_H

#include <Eigen/Dense>
#include <vector>

#include "core/scale/chunk_design.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct LogisticSums {
  Eigen::MatrixXd gradient;  // width x M
  Eigen::VectorXd deviance;  // M
};

class FoldModels {
 public:
  // coef: width x M; target / held_out: M entries (target column 0-based, fold 0-based).
  FoldModels(const ChunkDesign& design, const Eigen::MatrixXd& coef, std::vector<int> target,
             std::vector<int> held_out);
  // targets: n x t column-major 0/1 values.
  LogisticSums logistic_sums(const double* targets, const TaskRunner& runner) const;
  // n x (M / n_folds) out-of-fold linear predictors: column c uses the models of group c
  // (models are grouped by target in order: model index = c * n_folds + k for held-out fold k).
  Eigen::MatrixXd out_of_fold(const TaskRunner& runner) const;

 private:
  const ChunkDesign& design_;
  const Eigen::MatrixXd& coef_;
  std::vector<int> target_, held_out_;
};

}  // namespace fastdml

#endif
