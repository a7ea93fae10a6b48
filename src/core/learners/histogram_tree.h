// HistogramTree, RoutingTable and TreeGrower: one regression tree of gradient boosting grown on
// binned covariates (DESIGN.md §5, "trees grown on histograms with subtraction"), and the tree
// in table form for routing rows. Given gradients g and hessians h of the fitting rows, the
// grower keeps, per leaf, a histogram of (sum g, sum h, count) by bin for every feature; a
// split of feature j at bin b (value bins 1..b left; the missing bin tried on either side) has
// gain
//   G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda)
// and is admissible when both children have at least min_child_size rows and min_child_weight
// hessian and the gain exceeds 1e-12 G^2 / (H + lambda). Leaves are split best-first (largest
// gain; ties to the earlier leaf, the earlier feature and bin) up to max_depth and max_leaves.
// Only the smaller child's histogram is built from its rows; the larger one's is the parent's
// minus it. The split search works on integer histograms: g is rounded to the nearest multiple
// of s_g = max|g| / floor((2^31 - 1) / m) for m fitting rows (h likewise, with 2^32 - 1; with a
// constant hessian, as for squared error with equal weights, H = count * h), so that every sum
// is exact and a bin's (g, h) is one 64-bit addition, q_g * 2^32 + q_h. A leaf's value uses the
// exact sums of its rows: -learning_rate * G / (H + lambda).
#ifndef FASTDML_LEARNERS_HISTOGRAM_TREE_H
#define FASTDML_LEARNERS_HISTOGRAM_TREE_H

#include <cstdint>
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

// Where a split sends a bin, without a branch on the data: value bins 1..bin go left, and the
// missing bin 0 is read as 0 (left) or 255 (right; split bins are at most 254).
class Router {
 public:
  Router(int bin, bool missing_left) : bin_(bin), missing_(missing_left ? 0 : 255) {}
  explicit Router(const TreeNode& node) : Router(node.bin, node.missing_left) {}
  bool left(int b) const { return (b == 0 ? missing_ : b) <= bin_; }

 private:
  int bin_;
  int missing_;
};

class HistogramTree {
 public:
  std::vector<TreeNode> nodes;  // nodes[0] is the root
  // Adds the leaf value of rows[i] to out[i * stride + offset] for every i, or only for the
  // positions i in `subset` (increasing), routing the rows down the tree node by node
  // (independent loads, unlike one row's chain of nodes; branch-free partitions); `order` and
  // `buffer` are scratch.
  void add_leaf_values(const FeatureBins& bins, const std::vector<int>& rows, double* out,
                       int stride, int offset, std::vector<int>& order, std::vector<int>& buffer,
                       const std::vector<int>* subset = nullptr) const;
};

// A tree in table form, for routing many rows whose bins are stored row by row: a leaf sends
// every bin (left, bin 255) to itself, so every row takes exactly `depth` steps, each a load
// and a select.
class RoutingTable {
 public:
  explicit RoutingTable(const HistogramTree& tree);
  // Adds the leaf values of the m rows whose bins are x[i * p + j] to out[i * stride + offset].
  void add_leaf_values(const std::uint8_t* x, int p, int m, double* out, int stride,
                       int offset) const;

 private:
  struct Step {
    int feature;
    Router route;  // left: child[0]
    int child[2];
  };
  std::vector<Step> steps_;
  std::vector<double> values_;
  int depth_ = 0;
};

// Bins of a set of rows copied row by row (p bytes per row), for RoutingTable.
std::vector<std::uint8_t> row_major_bins(const FeatureBins& bins, const int* rows, int m);

class TreeGrower {
 public:
  static constexpr int kFeatureBlock = 4;  // features summed together in one pass
  static constexpr std::int64_t kPlace = std::int64_t(1) << 32;  // place of q_g in a packed sum
  TreeGrower(const FeatureBins& bins, const TreeOptions& options);
  // Grows a tree on the fitting rows `rows` (global row ids) with gradients g[k], hessians h[k]
  // for rows[k], using only the covariates in `features` (increasing). leaf[k] receives the
  // node index of the leaf of rows[k]. The runner parallelises histograms over features.
  HistogramTree grow(const std::vector<int>& rows, const std::vector<double>& g,
                     const std::vector<double>& h, const std::vector<int>& features,
                     std::vector<int>& leaf, const TaskRunner& runner);

 private:
  // Integer sums over a set of rows: quantised gradients, quantised hessians (unused with a
  // constant hessian) and the number of rows.
  struct Sums {
    long long g = 0, h = 0, count = 0;
  };
  // Per bin: the packed sum q_g * 2^32 + (q_h, or 1 with a constant hessian), and the row
  // counts (only kept when the hessian is not constant).
  struct Histogram {
    std::vector<std::int64_t> packed;
    std::vector<std::int32_t> counts;
  };
  struct Split {
    int feature = -1;
    int bin = 0;
    bool missing_left = false;
    double gain = 0.0;
    Sums left;
  };
  struct Leaf {
    int node = 0;
    int begin = 0, end = 0;  // range of the partition
    int depth = 0;
    Sums sums;
    int histogram = -1;      // index into histograms_, -1 = none
    Split split;
  };

  void quantise(const std::vector<double>& g, const std::vector<double>& h);
  // The sums of a packed total q_g * 2^32 + (q_h or the count) over `count` rows.
  Sums unpack(std::int64_t packed, long long count) const {
    const std::int64_t low =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(packed) & 0xFFFFFFFFULL);
    Sums sums;
    sums.g = (packed - low) / kPlace;
    sums.h = constant_hessian_ ? 0 : low;
    sums.count = constant_hessian_ ? low : count;
    return sums;
  }
  Sums bin_sums(const Histogram& histogram, int slot) const {
    return unpack(histogram.packed[slot], constant_hessian_ ? 0 : histogram.counts[slot]);
  }
  double gradient(const Sums& sums) const { return g_scale_ * static_cast<double>(sums.g); }
  double hessian(const Sums& sums) const {
    return static_cast<double>(constant_hessian_ ? sums.count : sums.h) * h_scale_;
  }
  void build_histogram(const Leaf& leaf, Histogram& histogram, const std::vector<int>& features,
                       const TaskRunner& runner);
  Split best_split(const Leaf& leaf, const Histogram& histogram,
                   const std::vector<int>& features);
  template <bool kConstantHessian>
  void accumulate_block(const std::uint8_t* const* columns, std::int64_t* const* packed,
                        std::int32_t* const* counts, int count) const;
  void accumulate_one(const std::uint8_t* column, std::int64_t* packed, std::int32_t* counts,
                      int count) const;
  bool can_split(const Leaf& leaf) const;
  int take_histogram();

  const FeatureBins& bins_;
  TreeOptions options_;
  std::vector<int> offset_;  // first histogram slot of each feature
  int total_bins_ = 0;
  // Per-grow scratch: positions k partitioned by leaf, the packed quantised gradients of the
  // positions, and those gathered for one leaf with its rows.
  std::vector<int> order_, scratch_, gathered_rows_;
  std::vector<std::int64_t> packed_, gathered_packed_;
  std::vector<double> candidate_sums_, candidate_gains_;  // best_split scratch
  const std::vector<int>* rows_ = nullptr;
  bool constant_hessian_ = false;  // every h equal (their sums are then count * h)
  bool ahead_ = false;             // prefetch the bins of rows ahead (large tables)
  double g_scale_ = 1.0;           // gradient of one quantisation step
  double h_scale_ = 1.0;           // hessian of one step (or the constant hessian)
  std::vector<Histogram> histograms_;
  std::vector<int> free_histograms_;
};

}  // namespace fastdml

#endif
