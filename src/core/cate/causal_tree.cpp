// CausalTree: see causal_tree.h (one honest causal tree, DESIGN.md §4 "CATE"): the node
// relabelling to the R-learner pseudo-outcome, the histogram split search under grf's balance
// rules, honest leaf filling and the pruning of empty leaves.
#include "core/cate/causal_tree.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fastdml {

int CausalTree::poisson(double mean, SeededRandom& random) {
  if (!(mean > 0.0)) return 0;
  const int pieces = static_cast<int>(std::ceil(mean / 500.0));
  const double part = mean / pieces;
  int total = 0;
  for (int piece = 0; piece < pieces; ++piece) {
    const double u = random.uniform();
    double probability = std::exp(-part);
    double cdf = probability;
    int k = 0;
    while (u > cdf && probability > 0.0) {
      ++k;
      probability *= part / k;
      cdf += probability;
    }
    total += k;
  }
  return total;
}

bool CausalTree::relabel(const CausalTreeData& data, int begin, int end, Workspace& ws,
                         BinStats& total) {
  const int* rows = ws.rows.data();
  double sw = 0.0, swd = 0.0, swy = 0.0, swdd = 0.0;
  for (int k = begin; k < end; ++k) {
    const int r = rows[k];
    const double w = data.w == nullptr ? 1.0 : data.w[r];
    sw += w;
    swd += w * data.d[r];
    swy += w * data.y[r];
    swdd += w * data.d[r] * data.d[r];
  }
  if (!(sw > 0.0)) return false;
  const double dbar = swd / sw, ybar = swy / sw;
  double sdd = 0.0, sdy = 0.0;
  for (int k = begin; k < end; ++k) {
    const int r = rows[k];
    const double w = data.w == nullptr ? 1.0 : data.w[r];
    const double dc = data.d[r] - dbar;
    sdd += w * dc * dc;
    sdy += w * dc * (data.y[r] - ybar);
  }
  if (!(sdd > 1e-12 * swdd) || !std::isfinite(sdd) || !std::isfinite(sdy)) return false;
  const double tau = sdy / sdd;
  const double variance = sdd / sw;
  total = BinStats();
  for (int k = begin; k < end; ++k) {
    const int r = rows[k];
    const double w = data.w == nullptr ? 1.0 : data.w[r];
    const double dc = data.d[r] - dbar;
    const double rho = dc * ((data.y[r] - ybar) - tau * dc) / variance;
    BinStats& s = ws.row_stats[k];
    s.count = 1.0;
    s.below = data.d[r] < dbar ? 1.0 : 0.0;
    s.w = w;
    s.wrho = w * rho;
    s.wd = w * dc;
    s.wdd = w * dc * dc;
    total.add(s);
  }
  return true;
}

void CausalTree::collect_bins(const std::uint8_t* column, int n_bins, int begin, int end,
                              Workspace& ws) {
  ws.bin_ids.clear();
  ws.bin_sums.clear();
  const int m = end - begin;
  const int* rows = ws.rows.data();
  if (m < kSortRows) {
    for (int k = begin; k < end; ++k) {
      ws.keys[k - begin] = (static_cast<std::uint32_t>(column[rows[k]]) << 24) |
                           static_cast<std::uint32_t>(k - begin);
    }
    std::sort(ws.keys.begin(), ws.keys.begin() + m);
    for (int i = 0; i < m; ++i) {
      const int bin = static_cast<int>(ws.keys[i] >> 24);
      if (ws.bin_ids.empty() || ws.bin_ids.back() != bin) {
        ws.bin_ids.push_back(bin);
        ws.bin_sums.emplace_back();
      }
      ws.bin_sums.back().add(ws.row_stats[begin + static_cast<int>(ws.keys[i] & 0xFFFFFFu)]);
    }
    return;
  }
  BinStats* histogram = ws.histogram.data();
  for (int k = begin; k < end; ++k) histogram[column[rows[k]]].add(ws.row_stats[k]);
  for (int b = 0; b < n_bins; ++b) {
    if (histogram[b].count > 0.0) {
      ws.bin_ids.push_back(b);
      ws.bin_sums.push_back(histogram[b]);
      histogram[b] = BinStats();
    }
  }
}

void CausalTree::scan_bins(int var, const BinStats& total, double min_size, int min_rows,
                           const CausalTreeOptions& options, const Workspace& ws, Split& best) {
  const double min_side = options.min_node_size;
  BinStats left;
  const int n_bins = static_cast<int>(ws.bin_ids.size());
  for (int i = 0; i + 1 < n_bins; ++i) {
    left.add(ws.bin_sums[i]);
    const double right_count = total.count - left.count;
    const double right_w = total.w - left.w;
    if (options.stabilize_splits) {
      const double right_below = total.below - left.below;
      if (right_below < min_side || right_count - right_below < min_side) break;
      if (left.below < min_side || left.count - left.below < min_side) continue;
      const double size_left = left.wdd - left.wd * left.wd / left.w;
      const double right_wd = total.wd - left.wd;
      const double size_right = (total.wdd - left.wdd) - right_wd * right_wd / right_w;
      if (size_left < min_size || size_right < min_size) continue;
    } else {
      if (right_count < min_rows) break;
      if (left.count < min_rows) continue;
    }
    if (!(left.w > 0.0) || !(right_w > 0.0)) continue;
    const double right_wrho = total.wrho - left.wrho;
    const double criterion = left.wrho * left.wrho / left.w + right_wrho * right_wrho / right_w;
    if (criterion > best.criterion) {
      best.var = var;
      best.bin = ws.bin_ids[i];
      best.criterion = criterion;
    }
  }
}

CausalTree::Split CausalTree::find_split(const CausalTreeData& data, int begin, int end,
                                         const CausalTreeOptions& options, SeededRandom& random,
                                         Workspace& ws) {
  Split best;
  BinStats total;
  if (!relabel(data, begin, end, ws, total)) return best;
  const int m = end - begin;
  double min_size = 0.0;
  int min_rows = 0;
  if (options.stabilize_splits) {
    const double needed = 2.0 * options.min_node_size;
    if (total.below < needed || total.count - total.below < needed) return best;
    min_size = options.alpha * total.wdd;
  } else {
    min_rows = std::max(options.min_node_size,
                        static_cast<int>(std::ceil(options.alpha * m - 1e-12)));
    min_rows = std::max(min_rows, 1);
    if (m < 2 * min_rows) return best;
  }
  const FeatureBins& bins = *data.bins;
  const int p = bins.p();
  const int k = std::min(p, std::max(1, poisson(options.mtry, random)));
  for (int var : random.choose(p, k)) {
    collect_bins(bins.column(var), bins.n_bins(var), begin, end, ws);
    scan_bins(var, total, min_size, min_rows, options, ws, best);
  }
  return best;
}

int CausalTree::leaf_of(const FeatureBins& bins, int row) const {
  int node = 0;
  while (split_[node] >= 0) {
    const int s = split_[node];
    node = bins.column(s >> 8)[row] <= (s & 255) ? node + 1 : child_[node];
  }
  return node;
}

CausalTree CausalTree::grow(const CausalTreeData& data, const std::vector<int>& grow_rows,
                            const std::vector<int>& estimate_rows,
                            const CausalTreeOptions& options, SeededRandom& random) {
  if (data.bins == nullptr || data.y == nullptr || data.d == nullptr) {
    throw std::invalid_argument("CausalTree: missing data");
  }
  const int m = static_cast<int>(grow_rows.size());
  CausalTree tree;
  Workspace ws;
  ws.rows = grow_rows;
  ws.buffer.resize(m);
  ws.row_stats.resize(m);
  ws.histogram.assign(256, BinStats());
  ws.keys.resize(kSortRows);
  struct Pending {
    int begin, end, depth, patch;
  };
  std::vector<Pending> stack{{0, m, 0, -1}};
  while (!stack.empty()) {
    const Pending node = stack.back();
    stack.pop_back();
    const int index = tree.n_nodes();
    if (node.patch >= 0) tree.child_[node.patch] = index;
    Split split;
    const bool may_split = node.end - node.begin > options.min_node_size &&
                           (options.max_depth < 0 || node.depth < options.max_depth);
    if (may_split) split = find_split(data, node.begin, node.end, options, random, ws);
    tree.child_.push_back(-1);
    if (split.var < 0) {
      tree.split_.push_back(-1);
      continue;
    }
    tree.split_.push_back(split.var * 256 + split.bin);
    const std::uint8_t* column = data.bins->column(split.var);
    int left = node.begin, right = 0;
    for (int k = node.begin; k < node.end; ++k) {
      const int r = ws.rows[k];
      if (column[r] <= split.bin) {
        ws.rows[left++] = r;
      } else {
        ws.buffer[right++] = r;
      }
    }
    std::copy(ws.buffer.begin(), ws.buffer.begin() + right, ws.rows.begin() + left);
    stack.push_back({left, node.end, node.depth + 1, index});
    stack.push_back({node.begin, left, node.depth + 1, -1});
  }
  tree.fill_and_prune(data, estimate_rows);
  return tree;
}

void CausalTree::fill_and_prune(const CausalTreeData& data,
                                const std::vector<int>& estimate_rows) {
  constexpr int kSums = kStatsWidth + 1;  // row count, then the five weighted sums
  const int n_nodes = this->n_nodes();
  std::vector<double> sums(static_cast<size_t>(n_nodes) * kSums, 0.0);
  for (int r : estimate_rows) {
    double* s = sums.data() + static_cast<size_t>(leaf_of(*data.bins, r)) * kSums;
    const double w = data.w == nullptr ? 1.0 : data.w[r];
    const double d = data.d[r], y = data.y[r];
    s[0] += 1.0;
    s[1] += w;
    s[2] += w * d;
    s[3] += w * y;
    s[4] += w * d * d;
    s[5] += w * d * y;
  }
  std::vector<double> count(n_nodes, 0.0);
  for (int k = n_nodes - 1; k >= 0; --k) {
    count[k] = split_[k] < 0 ? sums[static_cast<size_t>(k) * kSums]
                             : count[k + 1] + count[child_[k]];
  }
  const int p = data.bins->p();
  std::vector<int> split, child;
  std::vector<double> stats;
  split_counts_.assign(static_cast<size_t>(kImportanceDepths) * p, 0);
  struct Item {
    int node, depth, patch;
  };
  std::vector<Item> stack{{0, 0, -1}};
  int n_leaves = 0;
  while (!stack.empty()) {
    const Item item = stack.back();
    stack.pop_back();
    int node = item.node;
    while (split_[node] >= 0) {
      if (count[node + 1] == 0.0) {
        node = child_[node];
      } else if (count[child_[node]] == 0.0) {
        node = node + 1;
      } else {
        break;
      }
    }
    const int index = static_cast<int>(split.size());
    if (item.patch >= 0) child[item.patch] = index;
    if (split_[node] >= 0) {
      split.push_back(split_[node]);
      child.push_back(-1);
      if (item.depth < kImportanceDepths) ++split_counts_[item.depth * p + (split_[node] >> 8)];
      stack.push_back({child_[node], item.depth + 1, index});
      stack.push_back({node + 1, item.depth + 1, -1});
    } else {
      split.push_back(-1);
      child.push_back(n_leaves++);
      const double* s = sums.data() + static_cast<size_t>(node) * kSums;
      for (int f = 1; f < kSums; ++f) stats.push_back(s[0] > 0.0 ? s[f] / s[0] : 0.0);
    }
  }
  split_ = std::move(split);
  child_ = std::move(child);
  leaf_stats_ = std::move(stats);
}

}  // namespace fastdml
