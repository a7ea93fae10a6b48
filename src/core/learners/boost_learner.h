// BoostLearner: histogram gradient boosting (DESIGN.md §2 "Learners are pluggable", §5
// "Flexible nuisances"). Objectives: squared error (predicts E[y|x]), logistic (0/1 target,
// predicts probabilities) and softmax (the group's K targets are the one-hot indicators of K
// classes; predicts the K class probabilities). Each round adds one tree per output, grown by
// TreeGrower on the gradients g and hessians h of the weighted loss at the current raw scores:
//   squared  g = w (f - y),   h = w;
//   logistic g = w (q - y),   h = w q (1 - q),       q = 1 / (1 + e^-f);
//   softmax  g_c = w (q_c - y_c), h_c = w q_c (1 - q_c), q = softmax(f).
// Raw scores start at the weighted mean (logit of the mean; log class shares) of the fitting
// rows. Early stopping holds out validation_fraction of each training fold (drawn by the task's
// own SeededRandom stream, seed + task index) and keeps the trees up to the round with the
// smallest validation loss, stopping after early_stopping_rounds rounds without improvement;
// the number of rounds kept is reported per fold. Rows may be subsampled per round (Bernoulli;
// by default all rows of folds up to 10^5 fitting rows and max(30%, 10^5 rows) of larger ones)
// and covariates per tree. The covariates are binned once per cross-fit (FeatureBinCache, shared
// by all nuisances of a call); every (nuisance, repetition, fold) task trains on those bins
// through its row list and predicts only its held-out rows.
#ifndef FASTDML_LEARNERS_BOOST_LEARNER_H
#define FASTDML_LEARNERS_BOOST_LEARNER_H

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "core/learners/feature_bins.h"
#include "core/learners/histogram_tree.h"
#include "core/learners/learner.h"

namespace fastdml {

enum class BoostObjective { kSquaredError, kLogistic, kSoftmax };

struct BoostOptions {
  BoostObjective objective = BoostObjective::kSquaredError;
  TreeOptions tree;
  int n_rounds = 500;                // maximum number of rounds
  // Share of the fitting rows drawn per round, in (0, 1]; 0 = automatic:
  // min(1, max(kAutoSubsampleShare, kAutoSubsampleRows / fitting rows)).
  double subsample = 0.0;
  double colsample = 1.0;            // share of covariates per tree, (0, 1]
  int early_stopping_rounds = 10;    // 0 = no early stopping (all n_rounds rounds)
  double validation_fraction = 0.1;  // share of each training fold held out for early stopping
  int max_bins = 255;
  std::uint64_t seed = 0;
  static constexpr double kAutoSubsampleShare = 0.3;
  static constexpr double kAutoSubsampleRows = 100000.0;
};

// Binned covariates shared by the learners of one cross-fit call, computed on first use.
class FeatureBinCache {
 public:
  std::shared_ptr<const FeatureBins> get(const DataView& data, int max_bins,
                                         const TaskRunner& runner);

 private:
  std::mutex mutex_;
  std::map<int, std::shared_ptr<const FeatureBins>> bins_;
};

class BoostLearner : public Learner {
 public:
  BoostLearner(const BoostOptions& options, std::shared_ptr<FeatureBinCache> cache);
  std::unique_ptr<LearnerState> prepare(const CrossFitProblem& problem,
                                        const TaskRunner& runner) const override;
  void fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state, int rep,
                        int fold, const TaskRunner& runner) const override;
  void fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const override;

  // Boosts on `train` for the targets (one, or K one-hot columns for softmax) and writes the
  // predictions of the rows `predict` into outputs[c][row]; returns the number of rounds kept.
  int fit_predict(const FeatureBins& bins, const std::vector<const double*>& targets,
                  const double* weights, const std::vector<int>& train,
                  const std::vector<int>& predict, std::uint64_t seed,
                  const std::vector<double*>& outputs, const TaskRunner& runner) const;

 private:
  // One model per target (all targets jointly for softmax) on `train`, predicting `predict`
  // into the outputs shifted by output_offset; target t's task index (for its seed) is
  // t * task_stride + task_index, and its rounds kept go to fit_info[t][info_index].
  void fit_models(const CrossFitProblem& problem, const FeatureBins& bins,
                  const std::vector<int>& train, const std::vector<int>& predict,
                  long long output_offset, int info_index, long long task_index,
                  long long task_stride, const TaskRunner& runner) const;
  void check_targets(const std::vector<const double*>& targets, const std::vector<int>& rows) const;
  BoostOptions options_;
  std::shared_ptr<FeatureBinCache> cache_;
};

}  // namespace fastdml

#endif
