// CausalForest: trains the causal forest of DESIGN.md §4, "CATE" (grf's causal forest, Athey,
// Tibshirani & Wager 2019) on binned effect modifiers and DML residuals, and owns its sampling
// plan, from which prediction regenerates every tree's subsample for out-of-bag estimates
// instead of storing index lists.
//
// Sampling. Trees come in groups of g = ci_group_size ("little bags"). With g > 1 group k first
// draws a half-sample of floor(n / 2) rows without replacement, and each of its trees
// subsamples ceil(2 * sample_fraction * floor(n / 2)) of those rows (so sample_fraction <= 0.5;
// at 0.5 every tree of the group uses the whole half-sample, as in grf); with g = 1 each tree
// draws floor(sample_fraction * n) of the n rows. With honesty the tree's subsample is split at
// random into ceil(honesty_fraction * m) splitting rows and the remaining estimation rows.
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

  // Validates the options for n training rows (throws std::invalid_argument).
  CausalForest(const CausalForestOptions& options, int n);

  // Grows every tree on the runner's threads (interrupts polled between trees).
  ForestArrays train(const CausalTreeData& data, const TaskRunner& runner) const;

  const CausalForestOptions& options() const { return options_; }
  int n() const { return n_; }
  int num_groups() const { return options_.num_trees / options_.ci_group_size; }
  // Sorted rows of group k's half-sample (all n rows when ci_group_size == 1).
  std::vector<int> half_sample(int group) const;
  // Sorted rows of tree t's subsample drawn from its group's half-sample; `random` must be the
  // tree's fresh stream SeededRandom(seed + t).
  std::vector<int> subsample(const std::vector<int>& half, SeededRandom& random) const;

  // A uniformly random subset of `count` of [0, size) as 0/1 flags (partial Fisher-Yates).
  static std::vector<char> draw_flags(int size, int count, SeededRandom& random);

 private:
  CausalForestOptions options_;
  int n_;
  int subsample_size_;
};

}  // namespace fastdml

#endif
