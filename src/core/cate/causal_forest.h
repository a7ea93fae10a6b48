// CausalForest: trains the causal forest of DESIGN.md §4, "CATE" (grf's causal forest, Athey,
// Tibshirani & Wager 2019) on binned effect modifiers and DML residuals, and owns its sampling
// plan, from which prediction regenerates every tree's subsample for out-of-bag estimates
// instead of storing index lists.
//
// Sampling units. Without clusters the units are the n rows. With clusters (ids 0..G-1, one per
// row, every id used) the units are the G clusters: every draw below picks clusters, a tree
// uses all rows of its drawn clusters, and sample_fraction and honesty_fraction are shares of
// clusters. (grf's clusters argument draws clusters the same way but lets each drawn cluster
// contribute a fixed number of rows, equalize.cluster.weights; here a drawn cluster contributes
// all of its rows.) The row path is the cluster path with one unit per row, so without clusters
// nothing changes.
//
// Sampling. Trees come in groups of g = ci_group_size ("little bags"). With g > 1 group k first
// draws a half-sample of floor(N / 2) of the N units without replacement, and each of its trees
// subsamples ceil(2 * sample_fraction * floor(N / 2)) of those units (so sample_fraction <= 0.5;
// at 0.5 every tree of the group uses the whole half-sample, as in grf); with g = 1 each tree
// draws floor(sample_fraction * N) of the N units. With honesty the tree's subsample is split at
// random into ceil(honesty_fraction * m) splitting units and the remaining estimation units (m
// units in the subsample); the tree grows on the rows of its splitting units and fills its
// leaves from the rows of its estimation units.
// Streams (DESIGN.md §2, "Reproducible"): tree t uses SeededRandom(seed + t) for, in order, its
// subsample, its honesty split and its candidate covariates; group k's half-sample uses
// SeededRandom(b + k), b the first draw of SeededRandom(seed ^ kGroupStream). Trees are grown
// in parallel through the TaskRunner and concatenated in tree order, so the forest does not
// depend on the thread count.
#ifndef FASTDML_CATE_CAUSAL_FOREST_H
#define FASTDML_CATE_CAUSAL_FOREST_H

#include <cstdint>
#include <vector>

#include "core/cate/causal_tree.h"
#include "core/util/seeded_random.h"
#include "core/util/task_runner.h"

namespace fastdml {

struct CausalForestOptions {
  int num_trees = 2000;          // a multiple of ci_group_size
  double sample_fraction = 0.5;  // (0, 1]; <= 0.5 when ci_group_size > 1
  bool honesty = true;
  double honesty_fraction = 0.5; // (0, 1)
  int ci_group_size = 2;         // >= 1
  std::uint64_t seed = 42;
  CausalTreeOptions tree;
};

// The trees of a forest concatenated in tree order: tree t owns nodes
// [node_offset[t], node_offset[t + 1]) of split/child (CausalTree's layout, tree-local child
// and leaf indices) and leaves [leaf_offset[t], leaf_offset[t + 1]) of leaf_stats
// (CausalTree::kStatsWidth doubles each). split_counts[depth * p + var]: splits on var at
// depth 0..CausalTree::kImportanceDepths - 1, summed over the trees.
struct ForestArrays {
  std::vector<int> split;
  std::vector<int> child;
  std::vector<int> node_offset;
  std::vector<int> leaf_offset;
  std::vector<double> leaf_stats;
  std::vector<int> split_counts;
};

class CausalForest {
 public:
  static constexpr std::uint64_t kGroupStream = 0x6A09E667F3BCC909ULL;

  // Validates the options for n training rows (throws std::invalid_argument). cluster: empty
  // (no clusters) or n ids in 0..G-1 with every id used.
  CausalForest(const CausalForestOptions& options, int n, std::vector<int> cluster = {});

  // Grows every tree on the runner's threads (interrupts polled between trees).
  ForestArrays train(const CausalTreeData& data, const TaskRunner& runner) const;

  const CausalForestOptions& options() const { return options_; }
  int n() const { return n_; }
  int num_groups() const { return options_.num_trees / options_.ci_group_size; }
  bool clustered() const { return !cluster_.empty(); }
  // Sampling units: G clusters, or the n rows without clusters; unit_of(row) is the row's unit.
  int num_units() const { return clustered() ? num_clusters_ : n_; }
  int unit_of(int row) const { return clustered() ? cluster_[row] : row; }
  // Sorted units of group k's half-sample (all units when ci_group_size == 1).
  std::vector<int> half_sample(int group) const;
  // Sorted units of tree t's subsample drawn from its group's half-sample; `random` must be the
  // tree's fresh stream SeededRandom(seed + t).
  std::vector<int> subsample(const std::vector<int>& half, SeededRandom& random) const;
  // The rows of the given units, sorted (the units themselves without clusters).
  std::vector<int> rows_of(std::vector<int> units) const;

  // A uniformly random subset of `count` of [0, size) as 0/1 flags (partial Fisher-Yates).
  static std::vector<char> draw_flags(int size, int count, SeededRandom& random);

 private:
  CausalForestOptions options_;
  int n_;
  int subsample_size_;
  std::vector<int> cluster_;  // per row; empty without clusters
  int num_clusters_ = 0;
};

}  // namespace fastdml

#endif
