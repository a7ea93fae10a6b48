// HistogramTree and TreeGrower: one regression tree of gradient boosting grown on binned
// covariates (DESIGN.md §5, "trees grown on histograms with subtraction"). Given gradients g and
// hessians h of the fitting rows, the grower keeps, per leaf, a histogram of (sum g, sum h,
// count) by bin for every feature; a split of feature j at bin b (value bins 1..b left; the
// missing bin tried on either side) has gain
//   G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda)
// and is admissible when both children have at least min_child_size rows and min_child_weight
// hessian and the gain exceeds 1e-12 G^2 / (H + lambda). Leaves are split best-first (largest
// gain; ties to the earlier leaf, the earlier feature and bin) up to max_depth and max_leaves.
// Only the smaller child's histogram is built from its rows; the larger one's is the parent's
// minus it (with a constant hessian, as for squared error with equal weights, hessian sums are
// count * h instead of sums). A leaf's value is -learning_rate * G / (H + lambda).
#ifndef FASTDML_LEARNERS_HISTOGRAM_TREE_H
#define FASTDML_LEARNERS_HISTOGRAM_TREE_H

#include <vector>

#include "core/learners/feature_bins.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct TreeOptions {
  int max_depth = 6;             // the root has depth 0
  int max_leaves = 31;           // 0 = limited by the depth only
  double learning_rate = 0.1;
  double lambda = 1.0;
  double min_child_weight = 1e-3;
  int min_child_size = 20;
};

struct TreeNode {
  int feature = -1;           // -1 for a leaf
  int bin = 0;                // value bins 1..bin go left
  bool missing_left = false;  // where the missing bin goes
  int left = -1;
  int right = -1;
  double value = 0.0;         // leaf value (already scaled by the learning rate)
};

class HistogramTree {
 public:
  std::vector<TreeNode> nodes;  // nodes[0] is the root
  int leaf_of(const FeatureBins& bins, int row) const;
  double predict(const FeatureBins& bins, int row) const { return nodes[leaf_of(bins, row)].value; }
  // Adds the leaf value of rows[i] to out[i * stride + offset] for every i (needs the
  // row-major bins; every row takes the same number of steps, without branches on the data).
  void add_leaf_values(const FeatureBins& bins, const std::vector<int>& rows, double* out,
                       int stride, int offset) const;
};

class TreeGrower {
 public:
  static constexpr int kFeatureBlock = 4;  // features summed together in one pass
  TreeGrower(const FeatureBins& bins, const TreeOptions& options);
  // Grows a tree on the fitting rows `rows` (global row ids) with gradients g[k], hessians h[k]
  // for rows[k], using only the covariates in `features` (increasing). leaf[k] receives the
  // node index of the leaf of rows[k]. The runner parallelises histograms over features.
  HistogramTree grow(const std::vector<int>& rows, const std::vector<double>& g,
                     const std::vector<double>& h, const std::vector<int>& features,
                     std::vector<int>& leaf, const TaskRunner& runner);

 private:
  struct Bin {
    double g = 0.0;
    double h = 0.0;
    double count = 0.0;
  };
  struct Split {
    int feature = -1;
    int bin = 0;
    bool missing_left = false;
    double gain = 0.0;
    double g_left = 0.0, h_left = 0.0, count_left = 0.0;
  };
  struct Leaf {
    int node = 0;
    int begin = 0, end = 0;  // range of the partition
    int depth = 0;
    double g = 0.0, h = 0.0, count = 0.0;
    int histogram = -1;      // index into histograms_, -1 = none
    Split split;
  };

  void build_histogram(const Leaf& leaf, std::vector<Bin>& histogram,
                       const std::vector<int>& features, const TaskRunner& runner);
  Split best_split(const Leaf& leaf, const std::vector<Bin>& histogram,
                   const std::vector<int>& features) const;
  template <bool kConstantHessian>
  void accumulate_block(const std::uint8_t* const* columns, Bin* const* bins, int count) const;
  void accumulate_one(const std::uint8_t* column, Bin* bins, int count, bool constant_hessian) const;
  bool can_split(const Leaf& leaf) const;
  int take_histogram();

  const FeatureBins& bins_;
  TreeOptions options_;
  std::vector<int> offset_;  // first histogram slot of each feature
  int total_bins_ = 0;
  // Per-grow scratch: positions k partitioned by leaf, the gathered rows and gradients.
  std::vector<int> order_, scratch_, gathered_rows_;
  std::vector<double> gathered_g_, gathered_h_;
  const std::vector<int>* rows_ = nullptr;
  const std::vector<double>* g_ = nullptr;
  const std::vector<double>* h_ = nullptr;
  bool constant_hessian_ = false;  // every h equal (their sums are then count * h)
  std::vector<std::vector<Bin>> histograms_;
  std::vector<int> free_histograms_;
};

}  // namespace fastdml

#endif
