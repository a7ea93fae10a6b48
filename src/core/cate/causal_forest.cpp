// CausalForest: see causal_forest.h (training of the causal forest of DESIGN.md §4, "CATE",
// and its sampling plan).
#include "core/cate/causal_forest.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace fastdml {

CausalForest::CausalForest(const CausalForestOptions& options, int n, std::vector<int> cluster)
    : options_(options), n_(n), subsample_size_(0), cluster_(std::move(cluster)) {
  const int g = options.ci_group_size;
  if (n < 1) throw std::invalid_argument("CausalForest: no training rows");
  if (clustered()) {
    if (static_cast<int>(cluster_.size()) != n) {
      throw std::invalid_argument("CausalForest: cluster must have one id per row");
    }
    const int most = *std::max_element(cluster_.begin(), cluster_.end());
    std::vector<char> seen(static_cast<size_t>(std::max(most, 0)) + 1, 0);
    for (int c : cluster_) {
      if (c < 0) throw std::invalid_argument("CausalForest: cluster ids must be >= 0");
      seen[c] = 1;
    }
    if (std::find(seen.begin(), seen.end(), 0) != seen.end()) {
      throw std::invalid_argument("CausalForest: cluster ids must be 0..G-1 with every id used");
    }
    num_clusters_ = most + 1;
  }
  const int units = num_units();
  if (g < 1) throw std::invalid_argument("CausalForest: ci_group_size must be >= 1");
  if (options.num_trees < 1 || options.num_trees % g != 0) {
    throw std::invalid_argument("CausalForest: num_trees must be a positive multiple of ci_group_size");
  }
  if (!(options.sample_fraction > 0.0 && options.sample_fraction <= 1.0)) {
    throw std::invalid_argument("CausalForest: sample_fraction must be in (0, 1]");
  }
  if (g > 1 && options.sample_fraction > 0.5) {
    throw std::invalid_argument("CausalForest: sample_fraction must be <= 0.5 when ci_group_size > 1");
  }
  if (g > 1 && units < 2) {
    throw std::invalid_argument(clustered() ? "CausalForest: little bags need at least 2 clusters"
                                            : "CausalForest: little bags need n >= 2");
  }
  if (options.honesty && !(options.honesty_fraction > 0.0 && options.honesty_fraction < 1.0)) {
    throw std::invalid_argument("CausalForest: honesty_fraction must be in (0, 1)");
  }
  const CausalTreeOptions& tree = options.tree;
  if (tree.mtry < 1) throw std::invalid_argument("CausalForest: mtry must be >= 1");
  if (tree.min_node_size < 0) throw std::invalid_argument("CausalForest: min_node_size must be >= 0");
  if (!(tree.alpha >= 0.0 && tree.alpha < 0.5)) {
    throw std::invalid_argument("CausalForest: alpha must be in [0, 0.5)");
  }
  if (g > 1) {
    const int half = units / 2;
    const double size = std::ceil(2.0 * options.sample_fraction * half - 1e-9);
    subsample_size_ = std::max(1, std::min(half, static_cast<int>(size)));
  } else {
    const double size = std::floor(options.sample_fraction * units + 1e-9);
    subsample_size_ = std::max(1, std::min(units, static_cast<int>(size)));
  }
}

std::vector<char> CausalForest::draw_flags(int size, int count, SeededRandom& random) {
  std::vector<char> flags(size, 0);
  count = std::min(std::max(count, 0), size);
  if (count == size) {
    std::fill(flags.begin(), flags.end(), 1);
    return flags;
  }
  std::vector<int> pool(size);
  std::iota(pool.begin(), pool.end(), 0);
  for (int i = 0; i < count; ++i) {
    const int j = i + static_cast<int>(random.below(static_cast<std::uint32_t>(size - i)));
    std::swap(pool[i], pool[j]);
    flags[pool[i]] = 1;
  }
  return flags;
}

std::vector<int> CausalForest::half_sample(int group) const {
  const int units = num_units();
  std::vector<int> out;
  if (options_.ci_group_size == 1) {
    out.resize(units);
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  SeededRandom base(options_.seed ^ kGroupStream);
  SeededRandom random(base.next() + static_cast<std::uint64_t>(group));
  const std::vector<char> flags = draw_flags(units, units / 2, random);
  out.reserve(units / 2);
  for (int i = 0; i < units; ++i) {
    if (flags[i]) out.push_back(i);
  }
  return out;
}

std::vector<int> CausalForest::rows_of(std::vector<int> units) const {
  if (!clustered()) return units;
  std::vector<char> drawn(num_clusters_, 0);
  for (int c : units) drawn[c] = 1;
  std::vector<int> rows;
  for (int i = 0; i < n_; ++i) {
    if (drawn[cluster_[i]]) rows.push_back(i);
  }
  return rows;
}

std::vector<int> CausalForest::subsample(const std::vector<int>& half, SeededRandom& random) const {
  const int size = static_cast<int>(half.size());
  const std::vector<char> flags = draw_flags(size, std::min(subsample_size_, size), random);
  std::vector<int> rows;
  rows.reserve(subsample_size_);
  for (int i = 0; i < size; ++i) {
    if (flags[i]) rows.push_back(half[i]);
  }
  return rows;
}

ForestArrays CausalForest::train(const CausalTreeData& data, const TaskRunner& runner) const {
  if (data.bins == nullptr || data.bins->n() != n_) {
    throw std::invalid_argument("CausalForest: binned data do not match n");
  }
  if (data.bins->p() >= (1 << 23)) throw std::invalid_argument("CausalForest: too many columns");
  const int num_trees = options_.num_trees;
  std::vector<CausalTree> trees(num_trees);
  runner.begin_progress(num_trees);
  runner.run(num_trees, [&](int t) {
    SeededRandom random(options_.seed + static_cast<std::uint64_t>(t));
    // Units (rows, or clusters) first; a tree then uses every row of its units.
    const std::vector<int> units = subsample(half_sample(t / options_.ci_group_size), random);
    std::vector<int> grow_rows, estimate_rows;
    if (options_.honesty) {
      const int m = static_cast<int>(units.size());
      const double wanted = std::ceil(options_.honesty_fraction * m - 1e-9);
      const int n_grow = std::max(1, std::min(m, static_cast<int>(wanted)));
      const std::vector<char> flags = draw_flags(m, n_grow, random);
      for (int i = 0; i < m; ++i) (flags[i] ? grow_rows : estimate_rows).push_back(units[i]);
      grow_rows = rows_of(std::move(grow_rows));
      estimate_rows = rows_of(std::move(estimate_rows));
    } else {
      grow_rows = rows_of(units);
      estimate_rows = grow_rows;
    }
    trees[t] = CausalTree::grow(data, grow_rows, estimate_rows, options_.tree, random);
    runner.task_done();
  });

  ForestArrays out;
  long long total_nodes = 0, total_leaves = 0;
  out.node_offset.push_back(0);
  out.leaf_offset.push_back(0);
  for (const CausalTree& tree : trees) {
    total_nodes += tree.n_nodes();
    total_leaves += tree.n_leaves();
    if (total_nodes > INT_MAX || total_leaves * CausalTree::kStatsWidth > INT_MAX) {
      throw std::runtime_error("CausalForest: the forest is too large; use fewer trees");
    }
    out.node_offset.push_back(static_cast<int>(total_nodes));
    out.leaf_offset.push_back(static_cast<int>(total_leaves));
  }
  out.split.reserve(total_nodes);
  out.child.reserve(total_nodes);
  out.leaf_stats.reserve(total_leaves * CausalTree::kStatsWidth);
  out.split_counts.assign(static_cast<size_t>(CausalTree::kImportanceDepths) * data.bins->p(), 0);
  for (CausalTree& tree : trees) {
    out.split.insert(out.split.end(), tree.split().begin(), tree.split().end());
    out.child.insert(out.child.end(), tree.child().begin(), tree.child().end());
    out.leaf_stats.insert(out.leaf_stats.end(), tree.leaf_stats().begin(), tree.leaf_stats().end());
    for (size_t k = 0; k < out.split_counts.size(); ++k) out.split_counts[k] += tree.split_counts()[k];
    tree = CausalTree();
  }
  return out;
}

}  // namespace fastdml
