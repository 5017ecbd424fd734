// Probe-suite benchmark, thinkprobe side (bench/reduce_probe.sh runs it beside the sklearn pipeline of
// bench/reduce_probe_sklearn.py on the same file). Streams acts[layer] from HDF5 one layer at a time and
// runs, per layer: out-of-fold probe (standardise -> PCA(100) -> logistic C=0.03 balanced) and
// difference-of-means scores on the file's folds; per group (harmful, benign, pooled) AUROC, Youden
// balanced accuracy and a 500-resample bootstrap CI of the AUROC. Prints one JSON line per layer and a
// summary line with seconds and peak RSS. Not a test; not part of `thinkprobe`.
// Usage: reduce_probe_bench FILE.h5 [threads]
#include <ATen/Parallel.h>
#include <hdf5.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "reduce/metrics.h"
#include "reduce/probe.h"
#include "reduce/stats.h"
#include "util/check.h"

using namespace tp;

static double cpu_seconds() {  // user + system, this process
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

#define H5_OK(x) TP_CHECK_MSG((x) >= 0, "HDF5 call failed: {}", #x)

template <class T>
static std::vector<T> read_1d(hid_t file, const char* name, hid_t type) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  H5_OK(ds);
  hid_t space = H5Dget_space(ds);
  hsize_t n = 0;
  H5_OK(H5Sget_simple_extent_dims(space, &n, nullptr));
  std::vector<T> v(n);
  H5_OK(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()));
  H5Sclose(space);
  H5Dclose(ds);
  return v;
}

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: reduce_probe_bench FILE.h5 [threads]\n"); return 2; }
  at::set_num_threads(argc > 2 ? std::stoi(argv[2]) : 2);
  auto t0 = std::chrono::steady_clock::now();
  hid_t file = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
  H5_OK(file);
  auto label = read_1d<int8_t>(file, "label", H5T_NATIVE_INT8);
  auto prompt = read_1d<int64_t>(file, "prompt", H5T_NATIVE_INT64);
  auto pool = read_1d<int8_t>(file, "pool", H5T_NATIVE_INT8);
  auto fold = read_1d<int32_t>(file, "fold", H5T_NATIVE_INT32);
  hid_t acts = H5Dopen2(file, "acts", H5P_DEFAULT);
  H5_OK(acts);
  hid_t space = H5Dget_space(acts);
  hsize_t dims[3];
  H5_OK(H5Sget_simple_extent_dims(space, dims, nullptr));
  const size_t n_layer = dims[0], n = dims[1], d = dims[2];
  std::vector<float> x(n * d);  // one layer: the only activations ever in memory
  hsize_t mdims[2] = {n, d};
  hid_t mspace = H5Screate_simple(2, mdims, nullptr);

  // Groups: rows of each pool, and all rows.
  std::vector<std::vector<uint32_t>> groups(3);
  for (size_t i = 0; i < n; ++i) { groups[size_t(pool[i])].push_back(uint32_t(i)); groups[2].push_back(uint32_t(i)); }
  const char* group_name[3] = {"harmful", "benign", "pooled"};
  ProbeOptions opt;  // the paper's defaults: k = 100, C = 0.03, balanced
  ProbeScratch scratch;  // the probe's buffers, reused from layer to layer
  keep_freed_memory();   // as `thinkprobe reduce` does
  double t_read = 0;
  for (size_t il = 0; il < n_layer; ++il) {
    auto tr0 = std::chrono::steady_clock::now();
    hsize_t start[3] = {il, 0, 0}, count[3] = {1, n, d};
    H5_OK(H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr));
    H5_OK(H5Dread(acts, H5T_NATIVE_FLOAT, mspace, space, H5P_DEFAULT, x.data()));
    t_read += std::chrono::duration<double>(std::chrono::steady_clock::now() - tr0).count();
    ProbeOof oof = probe_oof(x.data(), n, d, label.data(), fold.data(), 5, opt, &scratch);
    std::printf("{\"layer\": %zu", il);
    for (size_t g = 0; g < 3; ++g) {
      std::vector<double> s, s_dom;
      std::vector<int8_t> y;
      std::vector<int32_t> f;
      for (uint32_t r : groups[g]) { s.push_back(oof.prob[r]); s_dom.push_back(oof.dom_score[r]); y.push_back(label[r]); f.push_back(fold[r]); }
      double auc = auroc(s.data(), y.data(), s.size());
      double bacc = balanced_accuracy_youden_oof(s.data(), y.data(), f.data(), s.size(), 5);
      RankedScores ranked = rank_scores(s.data(), s.size());
      std::vector<double> w(s.size());
      Ci ci = bootstrap_ci(bootstrap_plain(s.size()), 500, 42, 0.95, [&](const std::vector<uint32_t>& rows) {
        std::fill(w.begin(), w.end(), 0.0);
        for (uint32_t r : rows) w[r] += 1;
        return auroc_weighted(ranked, y.data(), w.data());
      });
      std::printf(", \"%s\": {\"auroc\": %.6f, \"lo\": %.4f, \"hi\": %.4f, \"bacc\": %.4f, \"dom_auroc\": %.6f}",
                  group_name[g], auc, ci.lo, ci.hi, bacc, auroc(s_dom.data(), y.data(), s.size()));
    }
    std::printf(", \"cpu_seconds\": %.2f}\n", cpu_seconds());  // cumulative, since the process started
    std::fflush(stdout);
  }
  H5Sclose(mspace);
  H5Sclose(space);
  H5Dclose(acts);
  H5Fclose(file);
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("{\"summary\": \"thinkprobe\", \"seconds\": %.2f, \"cpu_seconds\": %.2f, \"read_seconds\": %.2f, \"peak_rss_mb\": %.0f, "
              "\"n\": %zu, \"d\": %zu, \"layers\": %zu}\n", total, cpu, t_read, ru.ru_maxrss / 1024.0, n, d, n_layer);
  return 0;
}
