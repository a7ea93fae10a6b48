// FeatureBins: the covariates quantised once per fit for the histogram learners (DESIGN.md §5,
// "bin X once per fit"). Each column j gets at most max_bins bins stored as uint8, column-major:
// bin 0 holds missing values (NaN) and bins 1..B_j the values, cut at thresholds t_1 < ... so
// that bin(x) = 1 + #{t : t < x}. With at most max_bins - 1 distinct values every value has its
// own bin (thresholds at midpoints); otherwise the thresholds are quantiles of the column (of a
// systematic subsample of sample_rows rows when n is larger), deduplicated. A split "at bin b"
// sends value bins 1..b left, i.e. x <= t_b.
#ifndef FASTDML_LEARNERS_FEATURE_BINS_H
#define FASTDML_LEARNERS_FEATURE_BINS_H

#include <cstdint>
#include <vector>

#include "core/data/data_view.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct FeatureBinsOptions {
  int max_bins = 255;         // including the missing-value bin; 3..256
  int sample_rows = 200000;   // rows used to place the quantile thresholds
};

class FeatureBins {
 public:
  FeatureBins(const DataView& data, const FeatureBinsOptions& options, const TaskRunner& runner);

  int n() const { return n_; }
  int p() const { return p_; }
  int max_bins() const { return max_bins_; }
  // Bins of column j for rows 0..n-1.
  const std::uint8_t* column(int j) const { return bins_.data() + static_cast<size_t>(j) * n_; }
  // Number of bins of column j including the missing bin 0 (value bins are 1..n_bins - 1).
  int n_bins(int j) const { return static_cast<int>(thresholds_[j].size()) + 2; }
  const std::vector<double>& thresholds(int j) const { return thresholds_[j]; }

 private:
  int n_;
  int p_;
  int max_bins_;
  std::vector<std::uint8_t> bins_;
  std::vector<std::vector<double>> thresholds_;
};

}  // namespace fastdml

#endif
