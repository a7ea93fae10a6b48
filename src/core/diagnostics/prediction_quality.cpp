// PredictionQuality: see prediction_quality.h.
#include "core/diagnostics/prediction_quality.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fastdml {

PredictionQuality::PredictionQuality(const double* target, const double* predictions,
                                     const int* mask)
    : target_(target), predictions_(predictions), mask_(mask) {}

std::vector<std::vector<QualityRow>> PredictionQuality::compute_all(
    const std::vector<PredictionQuality>& nuisances, const FoldPlan& folds,
    const TaskRunner& runner) {
  const int n_rep = folds.n_rep();
  std::vector<std::vector<QualityRow>> by_task(nuisances.size() * n_rep);
  runner.run(static_cast<int>(by_task.size()), [&](int task) {
    by_task[task] = nuisances[task / n_rep].compute_rep(folds, task % n_rep);
  });
  std::vector<std::vector<QualityRow>> out(nuisances.size());
  for (size_t task = 0; task < by_task.size(); ++task) {
    auto& rows = out[task / n_rep];
    rows.insert(rows.end(), by_task[task].begin(), by_task[task].end());
  }
  return out;
}

std::vector<QualityRow> PredictionQuality::compute_rep(const FoldPlan& folds, int rep) const {
  const int n = folds.n();
  const int K = folds.n_folds();
  const int G = K + 1;  // group 0 = pooled, group k + 1 = fold k
  const double* pred = predictions_ + static_cast<long long>(rep) * n;
  std::vector<int> fold_of(n, -1);
  for (int k = 0; k < K; ++k) {
    for (int i : folds.test_rows(rep, k)) fold_of[i] = k;
  }
  std::vector<int> rows;
  rows.reserve(n);
  bool binary = true, probabilities = true;
  for (int i = 0; i < n; ++i) {
    if (mask_ != nullptr && mask_[i] == 0) continue;
    rows.push_back(i);
    if (target_[i] != 0.0 && target_[i] != 1.0) binary = false;
    if (!(pred[i] >= 0.0 && pred[i] <= 1.0)) probabilities = false;
  }
  std::vector<long long> count(G, 0);
  std::vector<double> sum_y(G, 0.0), sse(G, 0.0), sst(G, 0.0), loss(G, 0.0);
  for (int i : rows) {
    for (int g : {0, fold_of[i] + 1}) {
      ++count[g];
      sum_y[g] += target_[i];
    }
  }
  const double eps = 1e-15;
  for (int i : rows) {
    const double resid = target_[i] - pred[i];
    double row_loss = 0.0;
    if (binary && probabilities) {
      const double q = std::min(std::max(pred[i], eps), 1.0 - eps);
      row_loss = -(target_[i] * std::log(q) + (1.0 - target_[i]) * std::log(1.0 - q));
    }
    for (int g : {0, fold_of[i] + 1}) {
      const double centred = target_[i] - sum_y[g] / count[g];
      sse[g] += resid * resid;
      sst[g] += centred * centred;
      loss[g] += row_loss;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> auc(G, nan);
  if (binary) {
    struct Scored {
      double prediction;
      int group;
      bool positive;
    };
    std::vector<Scored> scored;
    scored.reserve(rows.size());
    for (int i : rows) scored.push_back({pred[i], fold_of[i] + 1, target_[i] == 1.0});
    std::sort(scored.begin(), scored.end(),
              [](const Scored& a, const Scored& b) { return a.prediction < b.prediction; });
    // Mann-Whitney count per group: each positive scores the negatives below it plus half of
    // the negatives tied with it.
    std::vector<double> numerator(G, 0.0), negatives_below(G, 0.0), positives(G, 0.0);
    std::vector<double> block_pos(G, 0.0), block_neg(G, 0.0);
    for (size_t start = 0; start < scored.size();) {
      size_t end = start;
      while (end < scored.size() && scored[end].prediction == scored[start].prediction) ++end;
      for (size_t r = start; r < end; ++r) {
        for (int g : {0, scored[r].group}) (scored[r].positive ? block_pos[g] : block_neg[g]) += 1.0;
      }
      for (size_t r = start; r < end; ++r) {
        for (int g : {0, scored[r].group}) {
          if (block_pos[g] == 0.0 && block_neg[g] == 0.0) continue;
          numerator[g] += block_pos[g] * (negatives_below[g] + 0.5 * block_neg[g]);
          negatives_below[g] += block_neg[g];
          positives[g] += block_pos[g];
          block_pos[g] = block_neg[g] = 0.0;
        }
      }
      start = end;
    }
    for (int g = 0; g < G; ++g) {
      const double pairs = positives[g] * negatives_below[g];
      if (pairs > 0.0) auc[g] = numerator[g] / pairs;
    }
  }
  std::vector<QualityRow> out(G);
  for (int g = 0; g < G; ++g) {
    QualityRow& row = out[g];
    row.rep = rep;
    row.fold = g - 1;
    row.n = count[g];
    row.rmse = count[g] > 0 ? std::sqrt(sse[g] / count[g]) : nan;
    row.r2 = sst[g] > 0.0 ? 1.0 - sse[g] / sst[g] : nan;
    row.log_loss = (binary && probabilities && count[g] > 0) ? loss[g] / count[g] : nan;
    row.auc = auc[g];
  }
  return out;
}

}  // namespace fastdml
