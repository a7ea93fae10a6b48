// BoostLearner: see boost_learner.h.
#include "core/learners/boost_learner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

#include "core/util/seeded_random.h"

namespace fastdml {

namespace {

constexpr double kHessianFloor = 1e-16;
constexpr double kShareFloor = 1e-6;

struct BoostState : public LearnerState {
  std::shared_ptr<const FeatureBins> bins;
};

double sigmoid(double f) {
  const double e = std::exp(-std::abs(f));
  return f >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

double softplus(double f) { return std::max(f, 0.0) + std::log1p(std::exp(-std::abs(f))); }

// Softmax of the K raw scores f[0..K) into q[0..K).
void softmax(const double* f, int k, double* q) {
  const double top = *std::max_element(f, f + k);
  double total = 0.0;
  for (int c = 0; c < k; ++c) total += (q[c] = std::exp(f[c] - top));
  for (int c = 0; c < k; ++c) q[c] /= total;
}

// Raw scores (K per row, row-major) of a set of rows, with the rows' targets (K per row) and
// weights (if any) gathered once, contiguously.
struct Scores {
  std::vector<int> rows;
  std::vector<double> raw;
  std::vector<double> target;
  std::vector<double> weight;
};

}  // namespace

std::shared_ptr<const FeatureBins> FeatureBinCache::get(const DataView& data, int max_bins,
                                                        const TaskRunner& runner) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = bins_.find(max_bins);
  if (found != bins_.end()) {
    if (found->second->n() != data.n() || found->second->p() != data.p()) {
      throw std::invalid_argument("FeatureBinCache: used with different data");
    }
    return found->second;
  }
  FeatureBinsOptions options;
  options.max_bins = max_bins;
  auto bins = std::make_shared<const FeatureBins>(data, options, runner);
  bins_[max_bins] = bins;
  return bins;
}

BoostLearner::BoostLearner(const BoostOptions& options, std::shared_ptr<FeatureBinCache> cache)
    : options_(options), cache_(std::move(cache)) {
  if (options_.n_rounds < 1) throw std::invalid_argument("BoostLearner: n_rounds must be >= 1");
  if (!(options_.subsample >= 0.0 && options_.subsample <= 1.0) ||
      !(options_.colsample > 0.0 && options_.colsample <= 1.0)) {
    throw std::invalid_argument("BoostLearner: subsample must be in [0, 1], colsample in (0, 1]");
  }
  if (options_.early_stopping_rounds < 0 ||
      !(options_.validation_fraction >= 0.0 && options_.validation_fraction < 1.0)) {
    throw std::invalid_argument("BoostLearner: invalid early stopping settings");
  }
  if (!cache_) cache_ = std::make_shared<FeatureBinCache>();
}

void BoostLearner::check_targets(const std::vector<const double*>& targets,
                                 const std::vector<int>& rows) const {
  if (options_.objective == BoostObjective::kSquaredError) return;
  if (options_.objective == BoostObjective::kSoftmax && targets.size() < 2) {
    throw std::invalid_argument("BoostLearner: softmax needs one indicator target per class");
  }
  for (int r : rows) {
    double total = 0.0;
    for (const double* target : targets) {
      if (target[r] != 0.0 && target[r] != 1.0) {
        throw std::invalid_argument("BoostLearner: classification targets must be 0/1");
      }
      total += target[r];
    }
    if (options_.objective == BoostObjective::kSoftmax && total != 1.0) {
      throw std::invalid_argument("BoostLearner: softmax indicators must sum to one per row");
    }
  }
}

std::unique_ptr<LearnerState> BoostLearner::prepare(const CrossFitProblem& problem,
                                                    const TaskRunner& runner) const {
  auto state = std::make_unique<BoostState>();
  state->bins = cache_->get(*problem.data, options_.max_bins, runner);
  check_targets(problem.targets, masked_rows(problem.data->n(), problem.train_mask));
  return state;
}

int BoostLearner::fit_predict(const FeatureBins& bins, const std::vector<const double*>& targets,
                              const double* weights, const std::vector<int>& train,
                              const std::vector<int>& predict, std::uint64_t seed,
                              const std::vector<double*>& outputs,
                              const TaskRunner& runner) const {
  const BoostObjective objective = options_.objective;
  const int k = static_cast<int>(targets.size());
  const int m = static_cast<int>(train.size());
  if (m < 2) throw std::runtime_error("BoostLearner: fewer than two training rows");
  SeededRandom random(seed);
  auto weight = [&](int row) { return weights == nullptr ? 1.0 : weights[row]; };

  Scores fitting, validation;
  const bool stopping = options_.early_stopping_rounds > 0 && options_.validation_fraction > 0.0;
  int n_valid = stopping ? static_cast<int>(std::floor(options_.validation_fraction * m)) : 0;
  if (n_valid < 1 || m - n_valid < 2) n_valid = 0;
  if (n_valid > 0) {
    const std::vector<int> chosen = random.choose(m, n_valid);
    size_t next = 0;
    for (int i = 0; i < m; ++i) {
      if (next < chosen.size() && chosen[next] == i) {
        validation.rows.push_back(train[i]);
        ++next;
      } else {
        fitting.rows.push_back(train[i]);
      }
    }
  } else {
    fitting.rows = train;
  }

  std::vector<double> init(k);
  double total_weight = 0.0;
  for (int r : fitting.rows) total_weight += weight(r);
  if (!(total_weight > 0.0)) throw std::runtime_error("BoostLearner: the training weights sum to 0");
  for (int c = 0; c < k; ++c) {
    double sum = 0.0;
    for (int r : fitting.rows) sum += weight(r) * targets[c][r];
    const double mean = sum / total_weight;
    if (objective == BoostObjective::kSquaredError) {
      init[c] = mean;
    } else if (objective == BoostObjective::kLogistic) {
      const double share = std::min(std::max(mean, kShareFloor), 1.0 - kShareFloor);
      init[c] = std::log(share / (1.0 - share));
    } else {
      init[c] = std::log(std::max(mean, kShareFloor));
    }
  }
  for (Scores* scores : {&fitting, &validation}) {
    const size_t size = scores->rows.size();
    scores->raw.resize(size * k);
    scores->target.resize(size * k);
    scores->weight.resize(weights == nullptr ? 0 : size);
    for (size_t i = 0; i < size; ++i) {
      std::copy(init.begin(), init.end(), scores->raw.begin() + i * k);
      const int r = scores->rows[i];
      for (int c = 0; c < k; ++c) scores->target[i * k + c] = targets[c][r];
      if (weights != nullptr) scores->weight[i] = weights[r];
    }
  }

  auto loss = [&](const Scores& scores) {
    double total = 0.0, mass = 0.0;
    std::vector<double> q(k);
    for (size_t i = 0; i < scores.rows.size(); ++i) {
      const double* f = scores.raw.data() + i * k;
      const double* y = scores.target.data() + i * k;
      double value = 0.0;
      if (objective == BoostObjective::kSquaredError) {
        value = (y[0] - f[0]) * (y[0] - f[0]);
      } else if (objective == BoostObjective::kLogistic) {
        value = softplus(f[0]) - y[0] * f[0];
      } else {
        const double top = *std::max_element(f, f + k);
        double total_exp = 0.0;
        for (int c = 0; c < k; ++c) total_exp += std::exp(f[c] - top);
        value = top + std::log(total_exp);
        for (int c = 0; c < k; ++c) value -= y[c] * f[c];
      }
      const double w = weights == nullptr ? 1.0 : scores.weight[i];
      total += w * value;
      mass += w;
    }
    return total / mass;
  };

  const std::vector<std::uint8_t> validation_bins =
      row_major_bins(bins, validation.rows.data(), n_valid);
  TreeGrower grower(bins, options_.tree);
  std::vector<RoutingTable> trees;  // every round's trees, in table form
  std::vector<int> all_features(bins.p());
  for (int j = 0; j < bins.p(); ++j) all_features[j] = j;
  std::vector<int> sample, sample_rows, leaf;
  std::vector<double> q(k);
  std::vector<std::vector<double>> gradients(k), hessians(k);
  std::vector<int> left_out;           // positions of the fitting rows outside the subsample
  std::vector<int> order, buffer;      // scratch of HistogramTree::add_leaf_values
  const int n_fit = static_cast<int>(fitting.rows.size());
  const double subsample =
      options_.subsample > 0.0
          ? options_.subsample
          : std::min(1.0, std::max(BoostOptions::kAutoSubsampleShare,
                                   BoostOptions::kAutoSubsampleRows / std::max(n_fit, 1)));
  double best_loss = std::numeric_limits<double>::infinity();
  int best_round = 0, rounds = 0;
  for (int round = 0; round < options_.n_rounds; ++round) {
    runner.poll();
    // Bernoulli subsample of the fitting positions and its complement, written without a
    // branch on the draw.
    sample.resize(n_fit);
    left_out.resize(n_fit);
    int n_in = n_fit, n_out = 0;
    if (subsample < 1.0) {
      n_in = 0;
      // uniform() < subsample, as an integer comparison of the same draw
      const auto threshold = static_cast<std::uint64_t>(std::ceil(std::ldexp(subsample, 53)));
      for (int i = 0; i < n_fit; ++i) {
        const bool take = (random.next() >> 11) < threshold;
        sample[n_in] = i;
        left_out[n_out] = i;
        n_in += take;
        n_out += !take;
      }
    }
    if (n_in < 2) {
      n_in = n_fit;
      n_out = 0;
    }
    if (n_in == n_fit) std::iota(sample.begin(), sample.end(), 0);
    sample.resize(n_in);
    left_out.resize(n_out);
    const int n_sample = static_cast<int>(sample.size());
    sample_rows.resize(n_sample);
    for (int s = 0; s < n_sample; ++s) sample_rows[s] = fitting.rows[sample[s]];
    const std::vector<int> features =
        options_.colsample < 1.0
            ? random.choose(bins.p(), std::max(1, static_cast<int>(std::floor(
                                                      options_.colsample * bins.p() + 0.5))))
            : all_features;
    for (int c = 0; c < k; ++c) {
      gradients[c].resize(n_sample);
      hessians[c].resize(n_sample);
    }
    for (int s = 0; s < n_sample; ++s) {
      const size_t i = sample[s];
      const double w = weights == nullptr ? 1.0 : fitting.weight[i];
      const double* f = fitting.raw.data() + i * k;
      const double* y = fitting.target.data() + i * k;
      if (objective == BoostObjective::kSquaredError) {
        gradients[0][s] = w * (f[0] - y[0]);
        hessians[0][s] = w;
        continue;
      }
      if (objective == BoostObjective::kLogistic) {
        q[0] = sigmoid(f[0]);
      } else {
        softmax(f, k, q.data());
      }
      for (int c = 0; c < k; ++c) {
        gradients[c][s] = w * (q[c] - y[c]);
        hessians[c][s] = w * std::max(q[c] * (1.0 - q[c]), kHessianFloor);
      }
    }
    for (int c = 0; c < k; ++c) {
      HistogramTree tree = grower.grow(sample_rows, gradients[c], hessians[c], features, leaf, runner);
      for (int s = 0; s < n_sample; ++s) {
        fitting.raw[static_cast<size_t>(sample[s]) * k + c] += tree.nodes[leaf[s]].value;
      }
      if (n_sample < n_fit) {
        tree.add_leaf_values(bins, fitting.rows, fitting.raw.data(), k, c, order, buffer, &left_out);
      }
      trees.emplace_back(tree);
      trees.back().add_leaf_values(validation_bins.data(), bins.p(), n_valid,
                                   validation.raw.data(), k, c);
    }
    rounds = round + 1;
    if (n_valid > 0) {
      const double current = loss(validation);
      if (current < best_loss) {
        best_loss = current;
        best_round = rounds;
      } else if (rounds - best_round >= options_.early_stopping_rounds) {
        break;
      }
    }
  }
  const int kept = n_valid > 0 ? best_round : rounds;

  // The predicted rows go through all kept trees in blocks whose bins, copied row by row, stay
  // in cache from tree to tree.
  std::vector<double> raw(predict.size() * k);
  for (size_t i = 0; i < predict.size(); ++i) std::copy(init.begin(), init.end(), raw.begin() + i * k);
  constexpr int kPredictBlock = 1024;
  const int n_predict = static_cast<int>(predict.size());
  for (int first = 0; first < n_predict; first += kPredictBlock) {
    const int size = std::min(kPredictBlock, n_predict - first);
    const std::vector<std::uint8_t> block = row_major_bins(bins, predict.data() + first, size);
    for (int t = 0; t < kept; ++t) {
      for (int c = 0; c < k; ++c) {
        trees[static_cast<size_t>(t) * k + c].add_leaf_values(
            block.data(), bins.p(), size, raw.data() + static_cast<size_t>(first) * k, k, c);
      }
    }
  }
  for (size_t i = 0; i < predict.size(); ++i) {
    const int r = predict[i];
    const double* f = raw.data() + i * k;
    if (objective == BoostObjective::kSquaredError) {
      outputs[0][r] = f[0];
    } else if (objective == BoostObjective::kLogistic) {
      outputs[0][r] = sigmoid(f[0]);
    } else {
      softmax(f, k, q.data());
      for (int c = 0; c < k; ++c) outputs[c][r] = q[c];
    }
  }
  return kept;
}

void BoostLearner::fit_models(const CrossFitProblem& problem, const FeatureBins& bins,
                              const std::vector<int>& train, const std::vector<int>& predict,
                              long long output_offset, int info_index, long long task_index,
                              long long task_stride, const TaskRunner& runner) const {
  const bool joint = options_.objective == BoostObjective::kSoftmax;
  const size_t n_models = joint ? 1 : problem.targets.size();
  for (size_t t = 0; t < n_models; ++t) {
    std::vector<const double*> targets;
    std::vector<double*> outputs;
    for (size_t c = 0; c < problem.targets.size(); ++c) {
      if (!joint && c != t) continue;
      targets.push_back(problem.targets[c]);
      outputs.push_back(problem.predictions[c] + output_offset);
    }
    const long long task = static_cast<long long>(t) * task_stride + task_index;
    const int kept = fit_predict(bins, targets, problem.weights, train, predict,
                                 options_.seed + static_cast<std::uint64_t>(task), outputs, runner);
    for (size_t c = 0; c < problem.fit_info.size(); ++c) {
      if (joint || c == t) problem.fit_info[c][info_index] = kept;
    }
  }
}

void BoostLearner::fit_predict_fold(const CrossFitProblem& problem, const LearnerState& state,
                                    int rep, int fold, const TaskRunner& runner) const {
  const FeatureBins& bins = *static_cast<const BoostState&>(state).bins;
  const FoldPlan& folds = *problem.folds;
  const std::vector<int> train = folds.train_rows(rep, fold, problem.train_mask);
  if (train.size() < 2) {
    throw std::runtime_error("BoostLearner: fewer than two training rows in fold " +
                             std::to_string(fold + 1) + " of repetition " + std::to_string(rep + 1));
  }
  const int per_target = folds.n_rep() * folds.n_folds();
  fit_models(problem, bins, train, folds.test_rows(rep, fold), static_cast<long long>(rep) * folds.n(),
             rep * folds.n_folds() + fold, rep * folds.n_folds() + fold, per_target, runner);
}

void BoostLearner::fit_predict_full(const CrossFitProblem& problem, const TaskRunner& runner) const {
  const DataView& data = *problem.data;
  const std::shared_ptr<const FeatureBins> bins = cache_->get(data, options_.max_bins, runner);
  const std::vector<int> train = masked_rows(data.n(), problem.train_mask);
  check_targets(problem.targets, train);
  fit_models(problem, *bins, train, all_rows(data.n()), 0, 0, 0, 1, runner);
}

}  // namespace fastdml
