// PlrScore: the partially linear model's orthogonal scores (DESIGN.md §4, PLR):
//   partialling out: psi_a = -w (D - m)^2,  psi_b = w (Y - l)(D - m)
//   IV-type:         psi_a = -w (D - m) D,  psi_b = w (D - m)(Y - g)
// with l = E[Y|X], m = E[D|X], g = E[Y - D theta_0 | X] cross-fitted, w normalised weights.
#ifndef FASTDML_SCORES_PLR_SCORE_H
#define FASTDML_SCORES_PLR_SCORE_H

#include "core/scores/score_elements.h"

namespace fastdml {

enum class PlrScoreType { kPartiallingOut, kIvType };

struct PlrOptions {
  PlrScoreType score = PlrScoreType::kPartiallingOut;
};

struct PlrNuisances {
  const double* l = nullptr;  // n x S
  const double* m = nullptr;  // n x S
  const double* g = nullptr;  // n x S, IV-type only
};

class PlrScore {
 public:
  explicit PlrScore(const PlrOptions& options) : options_(options) {}
  // Repetitions run as tasks of `runner` (each writes its own columns).
  ScoreElements compute(const double* y, const double* d, const double* weights, int n, int n_rep,
                        const PlrNuisances& nuisances,
                        const TaskRunner& runner = TaskRunner::serial()) const;

 private:
  PlrOptions options_;
};

}  // namespace fastdml

#endif
