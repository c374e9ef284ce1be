// libFuzzer target: strategy profiles (a file a user names with --profile). Every input either loads into a
// profile the policy can run on, or throws pangu::Error; the policy then answers every category.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapt/strategy_policy.h"
#include "pangu/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto profile = pangu::StrategyProfile::from_json(text, "fuzz.json", /*check_paths=*/false);
    for (int c = 0; c < pangu::kIntentCount; ++c)
      for (const bool uncertain : {false, true}) {
        pangu::IntentResult intent;
        intent.label = static_cast<pangu::Intent>(c);
        intent.uncertain = uncertain;
        pangu::PolicyOptions options;
        options.memory_budget = static_cast<uint64_t>(size) * 1000;
        (void)pangu::recommend(profile, intent, options);
      }
    (void)pangu::StrategyProfile::from_json(profile.to_json(), "again.json", false);
  } catch (const pangu::Error&) {
  }
  return 0;
}
