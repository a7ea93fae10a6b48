// FoldModels: see fold_models.h. Fixed row segments keep the sums thread-count invariant.
#include "core/scale/fold_models.h"

#include <cmath>
#include <stdexcept>

namespace fastdml {

FoldModels::FoldModels(const ChunkDesign& design, const Eigen::MatrixXd& coef,
                       std::vector<int> target, std::vector<int> held_out)
    : design_(design), coef_(coef), target_(std::move(target)), held_out_(std::move(held_out)) {
  if (coef_.rows() != design_.width() || coef_.cols() != static_cast<long>(target_.size()) ||
      target_.size() != held_out_.size()) {
    throw std::invalid_argument("FoldModels: coefficients, targets and folds do not match");
  }
}

LogisticSums FoldModels::logistic_sums(const double* targets, const TaskRunner& runner) const {
  const int M = static_cast<int>(coef_.cols());
  const auto segments = design_.segments();
  std::vector<LogisticSums> partial(segments.size());
  runner.run(static_cast<int>(segments.size()), [&](int s) {
    const int begin = segments[s].first, end = segments[s].second;
    const Eigen::MatrixXd Z = design_.design(begin, end);
    Eigen::MatrixXd R = Z * coef_;
    Eigen::VectorXd dev = Eigen::VectorXd::Zero(M);
    for (int m = 0; m < M; ++m) {
      const double* d = targets + static_cast<long long>(target_[m]) * design_.n();
      for (int r = begin; r < end; ++r) {
        double& cell = R(r - begin, m);
        if (design_.fold(r) == held_out_[m]) {
          cell = 0.0;
          continue;
        }
        const double eta = cell;
        const double p = 1.0 / (1.0 + std::exp(-eta));
        const double y = d[r];
        dev[m] += 2.0 * (std::log1p(std::exp(-std::abs(eta))) + std::max(eta, 0.0) - y * eta);
        cell = y - p;
      }
    }
    partial[s] = LogisticSums{Z.transpose() * R, dev};
  });
  LogisticSums total{Eigen::MatrixXd::Zero(coef_.rows(), M), Eigen::VectorXd::Zero(M)};
  for (const auto& part : partial) {
    total.gradient += part.gradient;
    total.deviance += part.deviance;
  }
  return total;
}

Eigen::MatrixXd FoldModels::out_of_fold(const TaskRunner& runner) const {
  const int K = design_.n_folds();
  const int groups = static_cast<int>(coef_.cols()) / K;
  Eigen::MatrixXd out(design_.n(), groups);
  const auto segments = design_.segments();
  runner.run(static_cast<int>(segments.size()), [&](int s) {
    const int begin = segments[s].first, end = segments[s].second;
    const Eigen::MatrixXd eta = design_.design(begin, end) * coef_;
    for (int r = begin; r < end; ++r) {
      const int k = design_.fold(r);
      for (int c = 0; c < groups; ++c) out(r, c) = eta(r - begin, c * K + k);
    }
  });
  return out;
}

}  // namespace fastdml
