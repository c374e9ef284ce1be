// The policy on hand-written profiles: it picks what the rule says, keeps to the memory budget and the
// quality bound at the interval's pessimistic end, takes a speculative method only where it measured faster
// than plain, falls back to the category-independent rows when the intent is uncertain; and bad profiles
// get one clear error.
#include <gtest/gtest.h>

#include "adapt/decoding_method.h"
#include "adapt/strategy_policy.h"
#include "pangu/error.h"

namespace pangu {
namespace {

// base 2.2 GB; w8a16 1.4 GB (code: drop 0.4 [-0.2, 0.9]; chat: 0.3 [0.1, 1.6]); w4 0.8 GB (code: drop 3 [2, 4]).
// code: w4 fastest but too lossy; w8a16+pld faster than w8a16 plain. chat: pld slower than plain.
const char* kProfile = R"({
  "format": "pangu-strategy-profile", "version": 1, "threads": 2,
  "variants": {
    "base":  {"path": "/b", "resident_bytes": 2200000000},
    "w8a16": {"path": "/q8", "resident_bytes": 1400000000},
    "w4":    {"path": "/q4", "resident_bytes": 800000000}
  },
  "drafts": {"small": {"path": "/d", "resident_bytes": 300000000}},
  "categories": {
    "code": {
      "quality": [
        {"variant": "w8a16", "metric": "mbpp_pass@1", "value": 53.3, "drop": 0.4, "drop_ci": [-0.2, 0.9], "n": 200},
        {"variant": "w4", "metric": "mbpp_pass@1", "value": 50.7, "drop": 3.0, "drop_ci": [2.0, 4.0], "n": 200}],
      "speed": [
        {"variant": "base", "method": "plain", "decode_tps": 10.0, "decode_tps_ci": [9.8, 10.2], "n": 20},
        {"variant": "w8a16", "method": "plain", "decode_tps": 16.0, "decode_tps_ci": [15.7, 16.3], "n": 20},
        {"variant": "w8a16", "method": "pld:3:4", "decode_tps": 24.0, "decode_tps_ci": [22.0, 26.0], "acceptance": 0.6, "n": 20},
        {"variant": "w8a16", "method": "draft:small:4", "decode_tps": 28.0, "decode_tps_ci": [26.0, 30.0], "n": 20},
        {"variant": "w4", "method": "plain", "decode_tps": 25.0, "decode_tps_ci": [24.5, 25.5], "n": 20}]
    },
    "chat": {
      "quality": [{"variant": "w8a16", "metric": "rouge_l_vs_base", "value": 0.97, "drop": 0.3, "drop_ci": [0.1, 1.6], "n": 50}],
      "speed": [
        {"variant": "base", "method": "plain", "decode_tps": 10.0, "decode_tps_ci": [9.9, 10.1], "n": 20},
        {"variant": "base", "method": "pld:3:4", "decode_tps": 9.5, "decode_tps_ci": [9.0, 10.0], "n": 20},
        {"variant": "w8a16", "method": "plain", "decode_tps": 16.0, "decode_tps_ci": [15.8, 16.2], "n": 20}]
    }
  },
  "overall": {
    "quality": [{"variant": "w8a16", "metric": "top1_vs_base", "value": 0.99, "drop": 0.2, "drop_ci": [0.0, 0.5], "n": 400}],
    "speed": [
      {"variant": "base", "method": "plain", "decode_tps": 10.0, "decode_tps_ci": [9.9, 10.1], "n": 80},
      {"variant": "w8a16", "method": "plain", "decode_tps": 16.0, "decode_tps_ci": [15.9, 16.1], "n": 80},
      {"variant": "w8a16", "method": "pld:3:4", "decode_tps": 18.0, "decode_tps_ci": [17.0, 19.0], "n": 80}]
  }
})";

StrategyProfile profile() { return StrategyProfile::from_json(kProfile, "profile.json", /*check_paths=*/false); }

IntentResult intent(Intent label, bool uncertain = false) {
  IntentResult r;
  r.label = label;
  r.confidence = uncertain ? 0.3f : 0.95f;
  r.uncertain = uncertain;
  return r;
}

std::string chosen(const Recommendation& r) {
  return r.chosen ? r.chosen->speed->variant + "/" + r.chosen->speed->method : "none";
}

const PolicyRow& row(const Recommendation& r, const std::string& variant, const std::string& method) {
  for (const auto& x : r.rows)
    if (x.speed->variant == variant && x.speed->method == method) return x;
  throw std::runtime_error("no row " + variant + "/" + method);
}

TEST(StrategyPolicy, TakesTheFastestRowWithinTheBounds) {
  const auto p = profile();
  const auto r = recommend(p, intent(Intent::kCode), {});
  EXPECT_EQ(chosen(r), "w8a16/draft:small:4");
  EXPECT_FALSE(r.category_independent);
  EXPECT_NE(row(r, "w4", "plain").excluded.find("quality drop up to 4.00"), std::string::npos);
  EXPECT_TRUE(row(r, "w8a16", "pld:3:4").excluded.empty());
  // A looser bound lets w4 in; it is still slower than the draft pair.
  PolicyOptions loose;
  loose.max_quality_drop = 5.0;
  EXPECT_EQ(chosen(recommend(p, intent(Intent::kCode), loose)), "w8a16/draft:small:4");
}

TEST(StrategyPolicy, KeepsToTheMemoryBudgetCountingTheDraft) {
  const auto p = profile();
  PolicyOptions o;
  o.memory_budget = 1'500'000'000;  // w8a16 fits, w8a16 + draft does not
  const auto r = recommend(p, intent(Intent::kCode), o);
  EXPECT_EQ(chosen(r), "w8a16/pld:3:4");
  EXPECT_NE(row(r, "w8a16", "draft:small:4").excluded.find("memory budget"), std::string::npos);
  EXPECT_NE(row(r, "base", "plain").excluded.find("memory budget"), std::string::npos);
  o.memory_budget = 900'000'000;  // only w4, which the quality bound excludes: base plain is the fallback
  const auto none = recommend(p, intent(Intent::kCode), o);
  EXPECT_EQ(chosen(none), "base/plain");
  EXPECT_NE(none.why_chosen.find("no row met the bounds"), std::string::npos);
}

TEST(StrategyPolicy, RespectsTheIntervalNotThePointEstimate) {
  const auto p = profile();
  // chat: w8a16's drop is 0.3 but its interval reaches 1.6, over the default bound of 1.
  const auto r = recommend(p, intent(Intent::kChat), {});
  EXPECT_EQ(chosen(r), "base/plain");
  EXPECT_NE(row(r, "w8a16", "plain").excluded.find("1.60"), std::string::npos);
  PolicyOptions o;
  o.max_quality_drop = 2.0;
  EXPECT_EQ(chosen(recommend(p, intent(Intent::kChat), o)), "w8a16/plain");
}

TEST(StrategyPolicy, SpeculationOnlyWhereItMeasuredFasterThanPlain) {
  const auto p = profile();
  const auto r = recommend(p, intent(Intent::kChat), {});
  EXPECT_NE(row(r, "base", "pld:3:4").excluded.find("not measured faster than plain"), std::string::npos);
}

TEST(StrategyPolicy, UncertainOrUnmeasuredCategoriesUseTheCategoryIndependentRows) {
  const auto p = profile();
  const auto uncertain = recommend(p, intent(Intent::kCode, /*uncertain=*/true), {});
  EXPECT_TRUE(uncertain.category_independent);
  EXPECT_EQ(chosen(uncertain), "w8a16/pld:3:4");
  EXPECT_NE(uncertain.why_rows.find("uncertain"), std::string::npos);
  const auto unmeasured = recommend(p, intent(Intent::kMath), {});
  EXPECT_TRUE(unmeasured.category_independent);
  EXPECT_NE(unmeasured.why_rows.find("no rows for math"), std::string::npos);
}

TEST(StrategyPolicy, ObjectivesQualityAndMemory) {
  const auto p = profile();
  PolicyOptions o;
  o.max_quality_drop = 5.0;
  o.objective = PolicyObjective::kQuality;
  EXPECT_EQ(chosen(recommend(p, intent(Intent::kCode), o)), "base/plain");
  o.objective = PolicyObjective::kMemory;
  EXPECT_EQ(chosen(recommend(p, intent(Intent::kCode), o)), "w4/plain");
}

TEST(StrategyProfile, RoundTripsThroughJson) {
  const auto p = profile();
  const auto again = StrategyProfile::from_json(p.to_json(), "again.json", false);
  EXPECT_EQ(again.to_json(), p.to_json());
  EXPECT_EQ(again.variants.at("w4").resident_bytes, 800000000u);
  ASSERT_TRUE(again.categories[static_cast<int>(Intent::kCode)]);
  EXPECT_EQ(again.categories[static_cast<int>(Intent::kCode)]->speed.size(), 5u);
}

// What a server learned (--save-learned) goes into the profile and comes back.
const char* kLearned = R"(,
  "learned": {"w8a16": {"code": [{"method": "pld:3:4", "weight": 3.25, "mean_tps": 21.5},
                                 {"method": "plain", "weight": 0.5, "mean_tps": 16.0}],
                        "overall": [{"method": "plain", "weight": 1.0, "mean_tps": 15.0}]}}
})";

std::string with_learned(const std::string& learned = kLearned) {
  std::string p = kProfile;
  return p.substr(0, p.rfind('}')) + learned.substr(0);
}

TEST(StrategyProfile, LearnedStateRoundTrips) {
  const auto p = StrategyProfile::from_json(with_learned(), "learned.json", false);
  const auto& code = p.learned.at("w8a16").at("code");
  ASSERT_EQ(code.size(), 2u);
  EXPECT_EQ(code[0].method, "pld:3:4");
  EXPECT_DOUBLE_EQ(code[0].weight, 3.25);
  EXPECT_DOUBLE_EQ(code[0].mean_tps, 21.5);
  const auto again = StrategyProfile::from_json(p.to_json(), "again.json", false);
  EXPECT_EQ(again.to_json(), p.to_json());
  EXPECT_EQ(again.learned.at("w8a16").at("overall").size(), 1u);
}

std::string error_of(const std::string& text, bool check_paths = false) {
  try {
    StrategyProfile::from_json(text, "bad.json", check_paths);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(StrategyProfile, BadProfilesGetOneClearError) {
  const std::string p = kProfile;
  EXPECT_NE(error_of(replaced(p, R"("code": {)", R"("poetry": {)")).find("unknown category \"poetry\""), std::string::npos);
  EXPECT_NE(error_of(replaced(p, R"("decode_tps": 10.0, "decode_tps_ci": [9.8, 10.2], )", "")).find(
                "categories.code.speed[0]: missing field \"decode_tps\""),
            std::string::npos);
  EXPECT_NE(error_of(replaced(p, R"("variant": "w4", "method": "plain")", R"("variant": "w2", "method": "plain")"))
                .find("unknown variant \"w2\""),
            std::string::npos);
  EXPECT_NE(error_of(replaced(p, "draft:small:4", "draft:big:4")).find("names the draft \"big\""), std::string::npos);
  EXPECT_NE(error_of(replaced(p, "pld:3:4\", \"decode_tps\": 24.0", "turbo\", \"decode_tps\": 24.0")).find("method \"turbo\""),
            std::string::npos);
  EXPECT_NE(error_of(replaced(p, "[22.0, 26.0]", "[26.0, 22.0]")).find("low <= high"), std::string::npos);
  EXPECT_NE(error_of(replaced(p, R"("version": 1)", R"("version": 9)")).find("version 9"), std::string::npos);
  EXPECT_NE(error_of(replaced(p, R"("base":  {)", R"("orig":  {)")).find("needs \"base\""), std::string::npos);
  EXPECT_NE(error_of(p, /*check_paths=*/true).find("variants.base: the directory /b no longer exists"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("a strategy profile is a JSON object"), std::string::npos);
  // found by fuzz_profile: a byte count too large for any integer, and a negative or fractional count
  EXPECT_NE(error_of(replaced(p, "1400000000", "14000000088888888888888888888888888888888")).find("not a whole number"),
            std::string::npos);
  EXPECT_NE(error_of(replaced(p, "1400000000", "-1")).find("variants.w8a16: field \"resident_bytes\" is -1"),
            std::string::npos);
  EXPECT_NE(error_of(replaced(p, R"("n": 200})", R"("n": 2.5})")).find("not a whole number"), std::string::npos);
  EXPECT_NE(error_of("{").find("bad.json"), std::string::npos);
  // The learned state: a known variant, a category or "overall", a valid method, finite non-negative figures.
  const std::string l = with_learned();
  EXPECT_NE(error_of(replaced(l, R"("learned": {"w8a16")", R"("learned": {"w9")")).find("learned.w9"), std::string::npos);
  EXPECT_NE(error_of(replaced(l, R"({"code": [{"method")", R"({"poetry": [{"method")")).find("neither a category"),
            std::string::npos);
  EXPECT_NE(error_of(replaced(l, R"("weight": 3.25)", R"("weight": -1)")).find("must be finite and >= 0"),
            std::string::npos);
  EXPECT_NE(error_of(replaced(l, R"("method": "pld:3:4", "weight")", R"("method": "turbo", "weight")")).find("method \"turbo\""),
            std::string::npos);
}

TEST(StrategyPolicy, ByteSizesAndObjectivesParse) {
  EXPECT_EQ(parse_byte_size("2GiB", "--memory-budget"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("512 MiB", "--memory-budget"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("1.5G", "--memory-budget"), 1610612736ull);
  EXPECT_EQ(parse_byte_size("1000", "--memory-budget"), 1000ull);
  EXPECT_THROW(parse_byte_size("lots", "--memory-budget"), Error);
  EXPECT_THROW(parse_byte_size("2 parsecs", "--memory-budget"), Error);
  EXPECT_THROW(parse_byte_size("-1G", "--memory-budget"), Error);
  EXPECT_THROW(parse_objective("fun"), Error);
}

TEST(DecodingMethodText, ParsesEveryFormAndRefusesTheRest) {
  const auto m = parse_decoding_method("draft:small:8+pmin=0.6+adaptive:no_think");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, DecodingMethod::Kind::kDraft);
  EXPECT_EQ(m->draft, "small");
  EXPECT_EQ(m->k, 8);
  EXPECT_TRUE(m->adaptive);
  EXPECT_DOUBLE_EQ(m->min_probability, 0.6);
  EXPECT_EQ(m->thinking, "no_think");
  const auto pld = parse_decoding_method("pld:3:4+adaptive");
  ASSERT_TRUE(pld);
  EXPECT_EQ(pld->kind, DecodingMethod::Kind::kPld);
  EXPECT_EQ(pld->n, 3);
  EXPECT_TRUE(pld->adaptive);
  EXPECT_DOUBLE_EQ(pld->min_probability, 0.0);
  EXPECT_TRUE(parse_decoding_method("plain"));
  for (const char* bad : {"plain+adaptive", "pld:3:4+pmin=0.5", "draft:small:4+pmin=1", "draft:small:4+pmin=0",
                          "draft:small:4+pmin=-0.5", "draft:small:4+pmin=", "draft:small:4+pmin=0.5+pmin=0.6",
                          "draft:small:4+adaptive+adaptive", "draft:small:4+fast", "draft::4", "pld:3:0", "turbo"})
    EXPECT_FALSE(parse_decoding_method(bad)) << bad;
}

}  // namespace
}  // namespace pangu
