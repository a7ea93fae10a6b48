// CausalTree: one honest causal tree of the causal forest (DESIGN.md §4, "CATE"; Athey,
// Tibshirani & Wager 2019, "Generalized random forests"), grown on histograms of the binned
// effect modifiers Z from the residualised outcome y = Y - l(X) and treatment d = D - m(X).
//
// Growing (on the splitting rows). At a node with rows i, weights w, weighted means dbar, ybar,
// the node's slope tau_P = sum w (d - dbar)(y - ybar) / sum w (d - dbar)^2 gives the R-learner
// pseudo-outcome rho_i = (d_i - dbar)[(y_i - ybar) - tau_P (d_i - dbar)] / V, V the node's
// weighted variance of d. Among k candidate covariates (k ~ Poisson(mtry), clamped to 1..p,
// drawn afresh at every node, as grf does) the split "bin <= b goes left" that maximises
//   (sum_L w rho)^2 / sum_L w + (sum_R w rho)^2 / sum_R w
// among the admissible ones is taken (ties: the first covariate, then the lowest bin). Rules:
// a node with at most min_node_size rows, at depth max_depth (root depth 0; < 0 = unlimited),
// or with no variation in d (sum w (d - dbar)^2 <= 1e-12 sum w d^2) is a leaf. With
// stabilize_splits (grf's causal rule) a child is admissible when it holds at least
// min_node_size rows with d below the node's mean dbar and at least min_node_size rows with
// d >= dbar (binary d: treated and control rows), and its size sum_child w (d - dbar_child)^2 is
// at least alpha times the node's sum w (d - dbar)^2. Without it a child needs at least
// max(min_node_size, ceil(alpha * node rows)) rows. Per node and candidate the rows' (count,
// below-mean count, w, w rho, w d, w d^2) are summed by bin in one pass (a 256-bin histogram;
// nodes with fewer than kSortRows rows sort (bin, position) keys instead, which adds in the same
// order), and the non-empty bins are scanned.
//
// Estimation (honesty). The estimation rows are routed down the grown tree; every leaf keeps
// the per-row means of its estimation rows' (w, w d, w y, w d^2, w d y) (sums over the leaf
// divided by its row count; a leaf without rows has all five 0). Leaves left without rows are
// pruned as grf's honesty.prune.leaves does: a split whose one side holds no estimation row is
// replaced by its other side (recursively), so a new point that falls on the empty side is
// routed to the other one. Without honesty the splitting rows are the estimation rows.
//
// Layout (compact, preorder): node k has split_[k] = var * 256 + bin (rows with bin <= bin go to
// the left child k + 1, the others to child_[k]) or -1 for a leaf, whose child_[k] is its leaf
// index; leaf_stats_ holds kStatsWidth doubles per leaf. split_counts_[depth * p + var] counts
// the pruned tree's splits on var at depth 0..kImportanceDepths - 1.
#ifndef FASTDML_CATE_CAUSAL_TREE_H
#define FASTDML_CATE_CAUSAL_TREE_H

#include <cstdint>
#include <vector>

#include "core/learners/feature_bins.h"
#include "core/util/seeded_random.h"

namespace fastdml {

struct CausalTreeOptions {
  int mtry = 1;                  // mean of the Poisson number of candidate covariates per node
  int min_node_size = 5;
  double alpha = 0.05;           // imbalance bound, in [0, 0.5)
  bool stabilize_splits = true;
  int max_depth = -1;            // < 0: unlimited
};

// The per-row inputs shared by the trees of a forest (memory owned by the caller).
struct CausalTreeData {
  const FeatureBins* bins = nullptr;
  const double* y = nullptr;     // residualised outcome
  const double* d = nullptr;     // residualised treatment
  const double* w = nullptr;     // weights, nullptr = all 1
};

class CausalTree {
 public:
  static constexpr int kStatsWidth = 5;         // means of w, w d, w y, w d^2, w d y
  static constexpr int kImportanceDepths = 4;
  static constexpr int kSortRows = 128;

  // Grows a tree on grow_rows, fills its leaves from estimate_rows and prunes empty leaves.
  // `random` supplies the candidate covariates.
  static CausalTree grow(const CausalTreeData& data, const std::vector<int>& grow_rows,
                         const std::vector<int>& estimate_rows, const CausalTreeOptions& options,
                         SeededRandom& random);

  const std::vector<int>& split() const { return split_; }
  const std::vector<int>& child() const { return child_; }
  const std::vector<double>& leaf_stats() const { return leaf_stats_; }
  const std::vector<int>& split_counts() const { return split_counts_; }
  int n_nodes() const { return static_cast<int>(split_.size()); }
  int n_leaves() const { return static_cast<int>(leaf_stats_.size()) / kStatsWidth; }

  // A Poisson(mean) draw (inversion in pieces of mean <= 500, so exp() never underflows).
  static int poisson(double mean, SeededRandom& random);

 private:
  struct BinStats {
    double count = 0.0, below = 0.0, w = 0.0, wrho = 0.0, wd = 0.0, wdd = 0.0;
    void add(const BinStats& o) {
      count += o.count; below += o.below; w += o.w; wrho += o.wrho; wd += o.wd; wdd += o.wdd;
    }
  };
  struct Split {
    int var = -1;
    int bin = 0;
    double criterion = 0.0;
  };
  // Scratch of one grow() call.
  struct Workspace {
    std::vector<int> rows;               // splitting rows, partitioned node by node
    std::vector<int> buffer;
    std::vector<BinStats> row_stats;     // per position: the row's contribution (count = 1)
    std::vector<BinStats> histogram;     // 256 bins
    std::vector<std::uint32_t> keys;
    std::vector<int> bin_ids;            // non-empty bins of the current candidate, increasing
    std::vector<BinStats> bin_sums;
  };

  // Fills ws.row_stats for positions [begin, end); returns false when the node must be a leaf.
  static bool relabel(const CausalTreeData& data, int begin, int end, Workspace& ws,
                      BinStats& total);
  static void collect_bins(const std::uint8_t* column, int n_bins, int begin, int end,
                           Workspace& ws);
  static void scan_bins(int var, const BinStats& total, double min_size, int min_rows,
                        const CausalTreeOptions& options, const Workspace& ws, Split& best);
  static Split find_split(const CausalTreeData& data, int begin, int end,
                          const CausalTreeOptions& options, SeededRandom& random, Workspace& ws);
  int leaf_of(const FeatureBins& bins, int row) const;
  void fill_and_prune(const CausalTreeData& data, const std::vector<int>& estimate_rows);

  std::vector<int> split_;
  std::vector<int> child_;
  std::vector<double> leaf_stats_;
  std::vector<int> split_counts_;
};

}  // namespace fastdml

#endif
