// ForestPredictor: see forest_predictor.h (CATE estimates and little-bags variances of the
// causal forest, DESIGN.md §4 "CATE").
#include "core/cate/forest_predictor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fastdml {

namespace {

constexpr int kWidth = CausalTree::kStatsWidth;
// Leaf indices buffered per chunk: at most this many (rows x trees), so at most 16 MB a thread.
constexpr long long kLeafBuffer = 4LL << 20;

}  // namespace

ForestPredictor::ForestPredictor(const ForestView& forest, int ci_group_size)
    : forest_(forest), ci_group_size_(ci_group_size) {
  if (forest.num_trees < 1) throw std::invalid_argument("ForestPredictor: no trees");
  if (ci_group_size < 1 || forest.num_trees % ci_group_size != 0) {
    throw std::invalid_argument("ForestPredictor: num_trees must be a multiple of ci_group_size");
  }
}

std::vector<std::uint8_t> ForestPredictor::bin_rows(const double* Z, int n_rows,
                                                    const std::vector<std::vector<double>>& edges,
                                                    const TaskRunner& runner) {
  const int p = static_cast<int>(edges.size());
  std::vector<std::uint8_t> bins(static_cast<size_t>(n_rows) * p);
  runner.run(p, [&](int j) {
    const std::vector<double>& t = edges[j];
    if (t.size() > 254) throw std::invalid_argument("ForestPredictor: more than 255 bins");
    const double* x = Z + static_cast<size_t>(j) * n_rows;
    std::uint8_t* out = bins.data() + static_cast<size_t>(j) * n_rows;
    for (int i = 0; i < n_rows; ++i) {
      out[i] = std::isnan(x[i])
                   ? 0
                   : static_cast<std::uint8_t>(1 + (std::lower_bound(t.begin(), t.end(), x[i]) - t.begin()));
    }
  });
  return bins;
}

double ForestPredictor::debiased_variance(double between, double noise, double groups) {
  const double initial = between - noise;
  const double scale = std::max(between, noise) * std::sqrt(2.0 / groups);
  if (!(scale > 0.0)) return std::max(initial, 0.0);
  const double ratio = initial / scale;
  if (ratio < -30.0) {
    // e + s phi/Phi = s (r + phi(r)/Phi(r)) with phi(r)/Phi(r) = -r - 1/r + 2/r^3 + O(r^-5).
    return scale * (-1.0 / ratio + 2.0 / (ratio * ratio * ratio));
  }
  const double phi = 0.3989422804014327 * std::exp(-0.5 * ratio * ratio);  // 1/sqrt(2 pi)
  const double Phi = 0.5 * std::erfc(-ratio / std::sqrt(2.0));
  return initial + scale * phi / Phi;
}

ForestPredictor::Membership ForestPredictor::membership(const CausalForest& plan, bool with_half,
                                                        const TaskRunner& runner) const {
  const int units = plan.num_units();
  const int g = ci_group_size_;
  Membership m;
  m.plan = &plan;
  m.words = (units + 63) / 64;
  m.tree.assign(static_cast<size_t>(forest_.num_trees) * m.words, 0);
  if (with_half) m.half.assign(static_cast<size_t>(forest_.num_trees / g) * m.words, 0);
  auto mark = [&](std::vector<std::uint64_t>& bits, int slot, const std::vector<int>& drawn) {
    std::uint64_t* out = bits.data() + static_cast<size_t>(slot) * m.words;
    for (int u : drawn) out[u >> 6] |= std::uint64_t{1} << (u & 63);
  };
  runner.run(forest_.num_trees / g, [&](int k) {
    const std::vector<int> half = plan.half_sample(k);
    if (with_half) mark(m.half, k, half);
    for (int t = k * g; t < (k + 1) * g; ++t) {
      SeededRandom random(plan.options().seed + static_cast<std::uint64_t>(t));
      mark(m.tree, t, plan.subsample(half, random));
    }
  });
  return m;
}

void ForestPredictor::predict_chunk(const std::uint8_t* bins, int n_rows, int p, int begin,
                                    int end, bool variance, const Membership* oob,
                                    ForestPrediction& out) const {
  const int len = end - begin;
  const int num_trees = forest_.num_trees;
  std::vector<std::uint8_t> row_bins(static_cast<size_t>(len) * p);
  for (int j = 0; j < p; ++j) {
    const std::uint8_t* column = bins + static_cast<size_t>(j) * n_rows + begin;
    for (int r = 0; r < len; ++r) row_bins[static_cast<size_t>(r) * p + j] = column[r];
  }
  std::vector<int> leaf(static_cast<size_t>(num_trees) * len, -1);
  std::vector<double> sums(static_cast<size_t>(len) * kWidth, 0.0);
  std::vector<int> used(len, 0);
  for (int t = 0; t < num_trees; ++t) {
    const int* split = forest_.split + forest_.node_offset[t];
    const int* child = forest_.child + forest_.node_offset[t];
    const double* stats = forest_.leaf_stats + static_cast<size_t>(forest_.leaf_offset[t]) * kWidth;
    int* leaf_t = leaf.data() + static_cast<size_t>(t) * len;
    for (int r = 0; r < len; ++r) {
      if (oob != nullptr && oob->in_tree(t, begin + r)) continue;
      const std::uint8_t* x = row_bins.data() + static_cast<size_t>(r) * p;
      int node = 0;
      while (split[node] >= 0) {
        const int s = split[node];
        node = x[s >> 8] <= (s & 255) ? node + 1 : child[node];
      }
      const double* v = stats + static_cast<size_t>(child[node]) * kWidth;
      if (!(v[0] > 0.0)) continue;
      leaf_t[r] = child[node];
      double* acc = sums.data() + static_cast<size_t>(r) * kWidth;
      for (int f = 0; f < kWidth; ++f) acc[f] += v[f];
      ++used[r];
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> coef(static_cast<size_t>(len) * kWidth, 0.0);
  std::vector<char> valid(len, 0);
  for (int r = 0; r < len; ++r) {
    const double* s = sums.data() + static_cast<size_t>(r) * kWidth;
    double estimate = nan;
    if (used[r] > 0) {
      const double sd = s[1] / s[0], sy = s[2] / s[0], sdd = s[3] / s[0], sdy = s[4] / s[0];
      const double denominator = sdd - sd * sd;
      if (denominator > 0.0) {
        estimate = (sdy - sd * sy) / denominator;
        const double scale = 1.0 / (denominator * (s[0] / used[r]));
        double* a = coef.data() + static_cast<size_t>(r) * kWidth;
        a[0] = ((2.0 * sd * sy - sdy) - estimate * (2.0 * sd * sd - sdd)) * scale;
        a[1] = (2.0 * estimate * sd - sy) * scale;
        a[2] = -sd * scale;
        a[3] = -estimate * scale;
        a[4] = scale;
        valid[r] = 1;
      }
    }
    out.estimate[begin + r] = estimate;
  }
  if (!variance) return;
  const int g = ci_group_size_;
  std::vector<double> group_sum(len, 0.0), group_sq(len, 0.0), tree_sq(len, 0.0);
  std::vector<int> good(len, 0);
  for (int k = 0; k < num_trees / g && g > 1; ++k) {
    for (int r = 0; r < len; ++r) {
      if (!valid[r] || (oob != nullptr && oob->in_half(k, begin + r))) continue;
      const double* a = coef.data() + static_cast<size_t>(r) * kWidth;
      double psi_group = 0.0, psi_sq = 0.0;
      bool complete = true;
      for (int t = k * g; t < (k + 1) * g && complete; ++t) {
        const int l = leaf[static_cast<size_t>(t) * len + r];
        if (l < 0) {
          complete = false;
          break;
        }
        const double* v = forest_.leaf_stats +
                          (static_cast<size_t>(forest_.leaf_offset[t]) + l) * kWidth;
        double psi = 0.0;
        for (int f = 0; f < kWidth; ++f) psi += a[f] * v[f];
        psi_group += psi;
        psi_sq += psi * psi;
      }
      if (!complete) continue;
      psi_group /= g;
      group_sum[r] += psi_group;
      group_sq[r] += psi_group * psi_group;
      tree_sq[r] += psi_sq;
      ++good[r];
    }
  }
  for (int r = 0; r < len; ++r) {
    double result = nan;
    if (good[r] >= 2) {
      const double groups = good[r];
      const double mean = group_sum[r] / groups;
      const double between = std::max(0.0, group_sq[r] / groups - mean * mean);
      const double total = tree_sq[r] / (groups * g) - mean * mean;
      result = debiased_variance(between, (total - between) / (g - 1), groups);
    }
    out.variance[begin + r] = result;
  }
}

ForestPrediction ForestPredictor::predict(const std::uint8_t* bins, int n_rows, int p,
                                          bool variance, const CausalForest* oob_plan,
                                          const TaskRunner& runner) const {
  if (oob_plan != nullptr && oob_plan->n() != n_rows) {
    throw std::invalid_argument("ForestPredictor: out-of-bag rows must be the training rows");
  }
  if (oob_plan != nullptr && (oob_plan->options().num_trees != forest_.num_trees ||
                              oob_plan->options().ci_group_size != ci_group_size_)) {
    throw std::invalid_argument("ForestPredictor: sampling plan does not match the forest");
  }
  ForestPrediction out;
  out.estimate.assign(n_rows, 0.0);
  if (variance) out.variance.assign(n_rows, 0.0);
  Membership oob;
  if (oob_plan != nullptr) oob = membership(*oob_plan, variance && ci_group_size_ > 1, runner);
  const long long per_chunk = std::max(64LL, std::min(4096LL, kLeafBuffer / forest_.num_trees));
  const int n_chunks = static_cast<int>((n_rows + per_chunk - 1) / per_chunk);
  runner.run(n_chunks, [&](int c) {
    const int begin = static_cast<int>(c * per_chunk);
    const int end = static_cast<int>(std::min<long long>(n_rows, begin + per_chunk));
    predict_chunk(bins, n_rows, p, begin, end, variance, oob_plan != nullptr ? &oob : nullptr, out);
    runner.poll();
  });
  return out;
}

}  // namespace fastdml
