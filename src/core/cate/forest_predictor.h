// ForestPredictor: CATE estimates and their variance from a trained causal forest (DESIGN.md
// §4, "CATE"; grf's causal forest prediction, Athey, Tibshirani & Wager 2019).
//
// Estimate. For a point x, tree b contributes its leaf's per-row means
// v_b = (w, w d, w y, w d^2, w d y) (CausalTree). With V = mean_b v_b over the contributing trees
// and S_z = V_z / V_w, tau(x) = (S_dy - S_d S_y) / (S_dd - S_d^2): the forest-weighted
// residual-on-residual slope with grf's weights alpha_i(x) = mean_b 1{i in L_b(x)} / |L_b(x)|
// (times the sample weight w_i). Out of bag (training rows), a tree contributes only when the
// row's sampling unit is not in its subsample: the row itself, or with clusters the row's
// whole cluster (no tree that saw any row of the cluster is used).
// Variance (bootstrap of little bags, GRF paper §4). The delta method linearises tau(V):
// psi_b = a . v_b with a . V = 0, a = [(2 S_d S_y - S_dy) - tau (2 S_d^2 - S_dd), 2 tau S_d - S_y,
// -S_d, -tau, 1] / ((S_dd - S_d^2) V_w) over (w, w d, w y, w d^2, w d y). A group of g trees is
// used when every tree of it has a leaf for x and, out of bag, its half-sample does not hold the
// row's unit (row or cluster). With G such groups, group means psi_k and their mean psibar:
//   between = mean_k (psi_k - psibar)^2, total = mean over their trees (psi_b - psibar)^2,
//   noise = (total - between) / (g - 1)  (the within-group part of between),
// and the variance is between - noise made non-negative as grf does, by the posterior mean of a
// variance known to be >= 0 under a flat prior and a normal error of standard deviation
// s = max(between, noise) sqrt(2 / G): e + s phi(e / s) / Phi(e / s), e = between - noise
// (always > 0; e itself when s = 0 and e >= 0, else 0). Fewer than 2 groups or g < 2: NaN.
//
// Rows are binned with the forest's bin edges (bin(x) = 1 + #{edges < x}, so "bin <= b" is
// "x <= edge b", the split's real threshold) and processed in chunks on the runner's threads;
// each row sums over the trees in tree order, so results do not depend on the thread count.
// Out of bag, tree and half-sample membership is regenerated from the CausalForest sampling
// plan into bitsets (one bit per unit, n rows or G clusters, per tree and per group, freed
// after the call).
#ifndef FASTDML_CATE_FOREST_PREDICTOR_H
#define FASTDML_CATE_FOREST_PREDICTOR_H

#include <cstdint>
#include <vector>

#include "core/cate/causal_forest.h"
#include "core/util/task_runner.h"

namespace fastdml {

// A non-owning view of ForestArrays (e.g. held in R memory).
struct ForestView {
  int num_trees = 0;
  const int* split = nullptr;
  const int* child = nullptr;
  const int* node_offset = nullptr;
  const int* leaf_offset = nullptr;
  const double* leaf_stats = nullptr;
};

struct ForestPrediction {
  std::vector<double> estimate;
  std::vector<double> variance;  // empty unless requested
};

class ForestPredictor {
 public:
  ForestPredictor(const ForestView& forest, int ci_group_size);

  // bins: n_rows x p bins (column-major). oob_plan: the forest's sampling plan when the rows are
  // its training rows, predicted out of bag; nullptr otherwise.
  ForestPrediction predict(const std::uint8_t* bins, int n_rows, int p, bool variance,
                           const CausalForest* oob_plan, const TaskRunner& runner) const;

  // Bins the n_rows x p matrix Z (column-major) with edges[j] for column j (NaN to bin 0).
  static std::vector<std::uint8_t> bin_rows(const double* Z, int n_rows,
                                            const std::vector<std::vector<double>>& edges,
                                            const TaskRunner& runner);

  // grf's debiased little-bags variance (see above).
  static double debiased_variance(double between, double noise, double groups);

 private:
  struct Membership {
    const CausalForest* plan = nullptr; // maps rows to units (rows or clusters)
    int words = 0;                      // 64-bit words per tree / group
    std::vector<std::uint64_t> tree;    // unit in the tree's subsample
    std::vector<std::uint64_t> half;    // unit in the group's half-sample
    bool in_tree(int t, int row) const {
      const int u = plan->unit_of(row);
      return (tree[static_cast<size_t>(t) * words + (u >> 6)] >> (u & 63)) & 1u;
    }
    bool in_half(int k, int row) const {
      const int u = plan->unit_of(row);
      return (half[static_cast<size_t>(k) * words + (u >> 6)] >> (u & 63)) & 1u;
    }
  };
  Membership membership(const CausalForest& plan, bool with_half, const TaskRunner& runner) const;
  void predict_chunk(const std::uint8_t* bins, int n_rows, int p, int begin, int end,
                     bool variance, const Membership* oob, ForestPrediction& out) const;

  ForestView forest_;
  int ci_group_size_;
};

}  // namespace fastdml

#endif
