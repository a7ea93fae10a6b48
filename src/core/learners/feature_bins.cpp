// FeatureBins: see feature_bins.h. Columns are binned independently on the runner's threads.
#include "core/learners/feature_bins.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fastdml {

namespace {

// Thresholds of one column from its sorted non-missing sample values.
std::vector<double> column_thresholds(const std::vector<double>& sorted, int value_bins) {
  std::vector<double> distinct;
  for (double v : sorted) {
    if (distinct.empty() || v != distinct.back()) distinct.push_back(v);
  }
  std::vector<double> thresholds;
  if (static_cast<int>(distinct.size()) <= value_bins) {
    for (size_t i = 0; i + 1 < distinct.size(); ++i) {
      thresholds.push_back(0.5 * (distinct[i] + distinct[i + 1]));
    }
    return thresholds;
  }
  const long long size = static_cast<long long>(sorted.size());
  for (int b = 1; b < value_bins; ++b) {
    const double candidate = sorted[static_cast<size_t>(b * size / value_bins)];
    if (candidate == distinct.back()) continue;
    if (thresholds.empty() || candidate != thresholds.back()) thresholds.push_back(candidate);
  }
  return thresholds;
}

}  // namespace

FeatureBins::FeatureBins(const DataView& data, const FeatureBinsOptions& options,
                         const TaskRunner& runner)
    : n_(data.n()), p_(data.p()), max_bins_(options.max_bins) {
  if (max_bins_ < 3 || max_bins_ > 256) {
    throw std::invalid_argument("FeatureBins: max_bins must be in 3..256");
  }
  if (options.sample_rows < 1) throw std::invalid_argument("FeatureBins: sample_rows must be >= 1");
  bins_.resize(static_cast<size_t>(n_) * p_);
  thresholds_.resize(p_);
  const int stride = n_ > options.sample_rows ? n_ / options.sample_rows : 1;
  runner.run(p_, [&](int j) {
    std::vector<double> sample;
    sample.reserve(n_ / stride + 1);
    for (int i = 0; i < n_; i += stride) {
      const double v = data.x(i, j);
      if (!std::isnan(v)) sample.push_back(v);
    }
    std::sort(sample.begin(), sample.end());
    thresholds_[j] = column_thresholds(sample, max_bins_ - 1);
    const std::vector<double>& t = thresholds_[j];
    std::uint8_t* out = bins_.data() + static_cast<size_t>(j) * n_;
    for (int i = 0; i < n_; ++i) {
      const double v = data.x(i, j);
      out[i] = std::isnan(v)
                   ? 0
                   : static_cast<std::uint8_t>(1 + (std::lower_bound(t.begin(), t.end(), v) - t.begin()));
    }
  });
}

}  // namespace fastdml
