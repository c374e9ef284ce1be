// Loading: a sharded checkpoint and other storage dtypes give the logits of the original single file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "pangu/model.h"
#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;

const std::vector<int32_t> kIds = {5, 99, 412, 7, 300, 1};

std::vector<float> logits_of(const std::string& dir) {
  auto model = Model::load(dir);
  ThreadPool pool(2);
  Session s(*model, 16, pool);
  const float* l = s.forward(kIds, true);
  return {l, l + kIds.size() * model->config().vocab_size};
}

// Writes the tiny-pangu-random tensors converted to `dtype`, split over `n_shards` files with an index.
std::string rewrite(const test::TempDir& tmp, DType dtype, int n_shards) {
  const std::string src = test::shared("models/tiny-pangu-random");
  const std::string dir = tmp / "model";
  fs::create_directories(dir);
  fs::copy_file(src + "/config.json", dir + "/config.json");
  static const Checkpoint original = Checkpoint::open_dir(src);
  std::vector<std::vector<TensorToWrite>> shards(n_shards);
  nlohmann::json index = {{"metadata", {}}, {"weight_map", nlohmann::json::object()}};
  int i = 0;
  for (const auto& [name, view] : original.tensors()) {
    const TensorView* v = &view;
    const int shard = i++ % n_shards;
    shards[shard].push_back({name, dtype, v->shape, [v, dtype](uint8_t* dst) {
                               std::vector<float> f(v->numel());
                               to_f32(v->dtype, v->data, v->numel(), f.data());
                               for (size_t k = 0; k < f.size(); ++k) {
                                 if (dtype == DType::kF32)
                                   reinterpret_cast<float*>(dst)[k] = f[k];
                                 else
                                   reinterpret_cast<uint16_t*>(dst)[k] = f32_to_f16(f[k]);
                               }
                             }});
    index["weight_map"][name] = "model-0000" + std::to_string(shard + 1) + ".safetensors";
  }
  for (int s = 0; s < n_shards; ++s)
    write_safetensors(dir + "/model-0000" + std::to_string(s + 1) + ".safetensors", shards[s]);
  test::write_text(dir + "/model.safetensors.index.json", index.dump());
  return dir;
}

TEST(Checkpoint, ShardedF32EqualsSingleFileBF16) {
  test::TempDir tmp;
  const auto want = logits_of(test::shared("models/tiny-pangu-random"));
  const auto got = logits_of(rewrite(tmp, DType::kF32, 3));  // bf16 -> f32 is exact
  ASSERT_EQ(got.size(), want.size());
  // The same weights; bf16 products take activations as two bf16 parts (16 significant bits, see
  // kernels/packed.h) where f32 products take them whole: relative differences of order 2^-16.
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-4 * std::max(1.0f, std::fabs(want[i]))) << i;
}

TEST(Checkpoint, F16WeightsStayCloseToBF16) {
  test::TempDir tmp;
  const auto want = logits_of(test::shared("models/tiny-pangu-random"));
  const auto got = logits_of(rewrite(tmp, DType::kF16, 2));  // f16 keeps more mantissa: within rounding
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-3) << i;
}

TEST(Checkpoint, WeightsAreMappedNotCopied) {
  auto model = Model::load(test::shared("models/tiny-pangu-random"));
  const TensorView* t = model->checkpoint().find("model.layers.0.mlp.up_proj.weight");
  ASSERT_TRUE(t);
  const uint8_t* file_start = model->checkpoint().find("model.embed_tokens.weight")->data;
  // Every matrix points into the one mapping of model.safetensors (within its size).
  EXPECT_LT(
      std::abs(t->data - file_start),
      static_cast<std::ptrdiff_t>(fs::file_size(test::shared("models/tiny-pangu-random/model.safetensors"))));
}

}  // namespace
}  // namespace pangu
