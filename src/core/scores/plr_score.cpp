// PlrScore: see plr_score.h.
#include "core/scores/plr_score.h"

namespace fastdml {

ScoreElements PlrScore::compute(const double* y, const double* d, const double* weights, int n,
                                int n_rep, const PlrNuisances& nuisances,
                                const TaskRunner& runner) const {
  if (nuisances.l == nullptr || nuisances.m == nullptr) {
    throw std::invalid_argument("PlrScore: nuisances l and m are required");
  }
  if (options_.score == PlrScoreType::kIvType && nuisances.g == nullptr) {
    throw std::invalid_argument("PlrScore: the IV-type score needs the nuisance g");
  }
  const ConstVectorMap Y(y, n), D(d, n);
  const Eigen::VectorXd w = normalised_weights(weights, n);
  const ConstMatrixMap l(nuisances.l, n, n_rep), m(nuisances.m, n, n_rep);
  ScoreElements out{Eigen::MatrixXd(n, n_rep), Eigen::MatrixXd(n, n_rep)};
  runner.run(n_rep, [&](int s) {
    const Eigen::ArrayXd v = (D - m.col(s)).array();
    if (options_.score == PlrScoreType::kPartiallingOut) {
      out.psi_a.col(s) = -(w.array() * v.square()).matrix();
      out.psi_b.col(s) = (w.array() * (Y - l.col(s)).array() * v).matrix();
    } else {
      const ConstMatrixMap g(nuisances.g, n, n_rep);
      out.psi_a.col(s) = -(w.array() * v * D.array()).matrix();
      out.psi_b.col(s) = (w.array() * v * (Y - g.col(s)).array()).matrix();
    }
  });
  return out;
}

}  // namespace fastdml
