// pangu run --strategy auto | VARIANT/METHOD --profile FILE: the request's category picks the rows, the
// policy picks the strategy, and the output stays that of plain greedy decoding.
#include <gtest/gtest.h>

#include "test_util.h"

namespace pangu {
namespace {

// qa: PLD measured faster than plain; chat: slower (so never taken); the zh-poem variant is not a row.
std::string write_profile(const test::TempDir& tmp) {
  auto rows = [](double plain, double pld) {
    return nlohmann::json{
        {"quality", nlohmann::json::array()},
        {"speed",
         {{{"variant", "base"}, {"method", "plain"}, {"decode_tps", plain}, {"decode_tps_ci", {plain * 0.95, plain * 1.05}}, {"n", 10}},
          {{"variant", "base"}, {"method", "pld:3:4"}, {"decode_tps", pld}, {"decode_tps_ci", {pld * 0.95, pld * 1.05}}, {"n", 10}}}}};
  };
  const nlohmann::json profile = {
      {"format", "pangu-strategy-profile"},
      {"version", 1},
      {"threads", 1},
      {"variants",
       {{"base", {{"path", test::shared("models/stories260K")}, {"resident_bytes", 2000000}}},
        {"poem", {{"path", test::shared("models/zh-poem-750K")}, {"resident_bytes", 1000000}}}}},
      {"categories", {{"qa", rows(10000, 15000)}, {"chat", rows(10000, 5000)}}},
      {"overall", rows(10000, 9000)}};
  const std::string path = tmp / "profile.json";
  test::write_text(path, profile.dump());
  return path;
}

const std::string kQa = "'What is the capital of France? Tom and Sue went to the park.'";
const std::string kChat = "'Tom and Sue went to the park. Hello, how are you today?'";

TEST(StrategyRun, AutoTakesTheMethodTheProfileMeasuredFastestAndStaysLossless) {
  test::TempDir tmp;
  const std::string profile = write_profile(tmp);
  const auto plain = test::run_pangu("run -m " + test::shared("models/stories260K") + " -p " + kQa + " -n 32 --greedy");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const auto r = test::run_pangu("run --strategy auto --profile " + profile + " -p " + kQa +
                                 " -n 32 --greedy --stats-json " + (tmp / "qa.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, plain.out);
  const auto stats = test::read_json(tmp / "qa.json");
  EXPECT_EQ(stats["strategy"]["category"], "qa");
  EXPECT_EQ(stats["strategy"]["variant"], "base");
  EXPECT_EQ(stats["strategy"]["method"], "pld:3:4");
  EXPECT_TRUE(stats.contains("speculation"));

  // chat: PLD measured slower than plain there, so plain.
  const auto c = test::run_pangu("run --strategy auto --profile " + profile + " -p " + kChat +
                                 " -n 8 --greedy --stats-json " + (tmp / "chat.json"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const auto chat = test::read_json(tmp / "chat.json");
  EXPECT_EQ(chat["strategy"]["category"], "chat");
  EXPECT_EQ(chat["strategy"]["method"], "plain");
  EXPECT_FALSE(chat.contains("speculation"));
}

TEST(StrategyRun, ANamedStrategyIsAppliedAsGiven) {
  test::TempDir tmp;
  const std::string profile = write_profile(tmp);
  const auto r = test::run_pangu("run --strategy base/pld:2:3 --profile " + profile + " -p " + kChat +
                                 " -n 8 --greedy --stats-json " + (tmp / "s.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto stats = test::read_json(tmp / "s.json");
  EXPECT_EQ(stats["strategy"]["method"], "pld:2:3");
  EXPECT_TRUE(stats.contains("speculation"));
}

TEST(StrategyRun, MistakesAreNamed) {
  test::TempDir tmp;
  const std::string profile = write_profile(tmp);
  auto expect_error = [](const std::string& args, const std::string& needle) {
    const auto r = test::run_pangu(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << ": " << r.err;
  };
  expect_error("run --strategy auto -p x", "needs --profile");
  expect_error("run --profile " + profile + " -p x", "--profile needs --strategy");
  expect_error("run --strategy nope/plain --profile " + profile + " -p x", "no variant \"nope\"");
  expect_error("run --strategy base/pld:x --profile " + profile + " -p x", "method \"pld:x\"");
  expect_error("run -m " + test::shared("models/tiny-pangu-random") + " --strategy auto --profile " + profile + " -p x", "none of the variants");
  expect_error("run --strategy auto --profile " + profile + " --spec pld -p x", "drop --spec");
  expect_error("run -p x", "give a model with -m");
}

}  // namespace
}  // namespace pangu
