// Command-line values out of range get one error naming the flag as the user typed it, before any work; the
// options several commands share mean the same thing in every command.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "test_util.h"

namespace pangu {
namespace {

namespace fs = std::filesystem;
using test::run_pangu;
using test::shared;

const std::string kStories = shared("models/stories260K");

void expect_flag_error(const std::string& args, const std::vector<std::string>& must_contain) {
  const auto r = run_pangu(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
  EXPECT_EQ(r.out, "") << args;
  EXPECT_EQ(r.err.rfind("pangu: error: ", 0), 0u) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& s : must_contain) EXPECT_NE(r.err.find(s), std::string::npos) << "missing '" << s << "': " << r.err;
}

TEST(CliOptions, NegativeTokenCountIsRefusedAndMinusOneRunsToTheContext) {
  expect_flag_error("run -m " + kStories + " -p Once -n -5", {"-n/--n-predict -5", "-1"});
  const auto r = run_pangu("run -m " + kStories + " -p Once -n -1 --ignore-eos");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("stop: context"), std::string::npos) << r.err;
}

TEST(CliOptions, ThreadCountsOutOfRange) {
  expect_flag_error("run -m " + kStories + " -p Once -t 0", {"-t/--threads 0"});
  expect_flag_error("run -m " + kStories + " -p Once -t -3", {"-t/--threads -3"});
  expect_flag_error("run -m " + kStories + " -p Once -t 1000", {"-t/--threads 1000", "512"});
  expect_flag_error("quantize -m " + kStories + " -o /tmp/never -t 0", {"-t/--threads 0"});
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const auto r = run_pangu("run -m " + kStories + " -p Once -n 2 -t " + std::to_string(cores + 1));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: -t/--threads " + std::to_string(cores + 1)), std::string::npos) << r.err;
}

TEST(CliOptions, ContextSizesOutOfRange) {
  expect_flag_error("run -m " + kStories + " -p Once -c 0", {"-c/--ctx 0"});
  expect_flag_error("run -m " + kStories + " -p Once -c -5", {"-c/--ctx -5"});
  expect_flag_error("run -m " + kStories + " -p Once -c 2000000",
                    {"-c/--ctx 2000000", "512", "max_position_embeddings"});
}

TEST(CliOptions, SamplingValuesNameTheirFlag) {
  expect_flag_error("run -m " + kStories + " -p Once --temp -1", {"--temp -1"});
  expect_flag_error("run -m " + kStories + " -p Once --top-p 1.5", {"--top-p 1.5"});
  expect_flag_error("run -m " + kStories + " -p Once --min-p 1", {"--min-p 1"});
  expect_flag_error("run -m " + kStories + " -p Once --top-k -2", {"--top-k -2"});
  expect_flag_error("chat -m " + kStories + " --repeat-penalty 0 < /dev/null", {"--repeat-penalty 0"});
}

TEST(CliOptions, PruneRefusesAnAlignmentWiderThanTheMlp) {
  test::TempDir tmp;
  // stories260K's MLP is 172 wide: --align 256 (the default) could only give back the unpruned model.
  expect_flag_error("prune -m " + kStories + " -o " + (tmp / "p") + " --ratio 0.2 --importance magnitude --steps 0",
                    {"--align 256", "172"});
  expect_flag_error("prune -m " + kStories + " -o " + (tmp / "p") +
                        " --ratio 0.01 --align 16 --importance magnitude --steps 0",
                    {"nothing would be pruned", "172"});
  EXPECT_FALSE(fs::exists(tmp / "p"));
  EXPECT_FALSE(fs::exists(tmp / "p.partial"));
}

TEST(CliOptions, UnknownCommandIsNamed) {
  const auto r = run_pangu("runn -m x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown command \"runn\""), std::string::npos) << r.err;
}

// The shared options are declared once (src/cli/options.h): a short name has one meaning in every command
// and no command takes the model as a positional argument besides -m.
TEST(CliOptions, SharedShortNamesMeanTheSameEverywhere) {
  const std::vector<std::string> commands = {"run",   "chat",  "info",        "synth",        "quantize",
                                             "perplexity", "eval", "prune", "distill", "bench spec",
                                             "bench verify", "bench train", "serve"};
  const std::vector<std::pair<std::string, std::string>> meanings = {
      {"-m,", "--model"}, {"-c,", "--ctx"}, {"-n,", "--n-predict"}, {"-o,", "--out"},
      {"-t,", "--threads"}, {"-s,", "--seed"}, {"-v,", "--verbose"}};
  for (const auto& cmd : commands) {
    const auto r = run_pangu(cmd + " --help");
    ASSERT_EQ(r.exit_code, 0) << cmd;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      for (const auto& [short_name, long_name] : meanings) {
        const size_t at = line.find(short_name);
        if (at == std::string::npos || line.find_first_not_of(' ') != at) continue;
        EXPECT_NE(line.find(long_name), std::string::npos) << cmd << ": " << line;
      }
    }
    EXPECT_EQ(r.out.find("Positionals:"), std::string::npos) << cmd << " takes positional arguments:\n" << r.out;
  }
  EXPECT_EQ(run_pangu("distill --help").out.find("prun"), std::string::npos) << "distill's help speaks of pruning";
  const auto chat = run_pangu("chat --help");
  EXPECT_NE(chat.out.find("--n-predict INT=-1"), std::string::npos) << chat.out;
}

TEST(CliOptions, OutputFilesAreCheckedBeforeGenerating) {
  for (const std::string flag : {"--logits-out", "--stats-json"}) {
    const auto r = run_pangu("run -m " + kStories + " -p Once -n 8 " + flag + " /nonexistent/dir/x.json");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "") << "generated before failing";
    EXPECT_NE(r.err.find(flag + " /nonexistent/dir/x.json: cannot write"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(".tmp."), std::string::npos) << r.err;
  }
}

TEST(CliOptions, IdsWithoutATokenizerPrintIds) {
  const auto r = run_pangu("run -m " + shared("models/tiny-pangu-random") + " --ids 1,2,3 -n 4 --greedy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream ids(r.out);
  int n = 0, id = 0;
  while (ids >> id) ++n;
  EXPECT_EQ(n, 4) << r.out;
  EXPECT_NE(r.err.find("no tokenizer, printing token ids"), std::string::npos) << r.err;
}

TEST(CliOptions, GenerationConfigDoSampleFalseMeansGreedy) {
  // zh-poem-750K's generation_config.json says do_sample: false; without --seed two runs must agree, and
  // agree with --greedy. A temperature on the command line still samples.
  const std::string cmd = "run -m " + shared("models/zh-poem-750K") + " -p 春 -n 24";
  const auto a = run_pangu(cmd), b = run_pangu(cmd), greedy = run_pangu(cmd + " --greedy");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, greedy.out);
  bool differs = false;
  for (int seed = 1; seed <= 4 && !differs; ++seed)
    differs = run_pangu(cmd + " --temp 1.5 --seed " + std::to_string(seed)).out != greedy.out;
  EXPECT_TRUE(differs) << "--temp did not sample";
}

TEST(CliOptions, TokenizerLargerThanTheVocabularyIsRefusedAtLoad) {
  test::TempDir tmp;
  const std::string dir = tmp / "m";
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(kStories + "/" + f, dir + "/" + f);
  fs::copy_file(shared("models/zh-poem-750K/tokenizer.json"), dir + "/tokenizer.json");  // 2048 tokens > 512
  expect_flag_error("run -m " + dir + " -p Once", {"tokenizer has 2048 tokens", "vocab_size is 512"});
  const auto eval = run_pangu("eval -m " + dir + " --task gsm8k --limit 1 --data " + shared("data") + " --out " + (tmp / "e"));
  EXPECT_NE(eval.exit_code, 0);
  EXPECT_EQ(eval.err.find("100%"), std::string::npos) << eval.err;
  EXPECT_NE(eval.err.find("vocab_size is 512"), std::string::npos) << eval.err;
}

TEST(CliOptions, QuantizeReportsSmallSizesInUnitsThatFit) {
  test::TempDir tmp;
  const auto r = run_pangu("quantize -m " + kStories + " -o " + (tmp / "q"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("0.000 GiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("KiB"), std::string::npos) << r.err;
}

TEST(CliOptions, StaleTemporaryOutputIsRemovedAndReported) {
  test::TempDir tmp;
  fs::create_directories(tmp / "q.tmp");
  test::write_text(tmp / "q.tmp/model.safetensors", std::string(1000, 'x'));  // as a killed run leaves it
  const auto r = run_pangu("quantize -m " + kStories + " -o " + (tmp / "q"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("unfinished output of an interrupted run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "q.tmp"));
  EXPECT_TRUE(fs::exists(tmp / "q/config.json"));
}

}  // namespace
}  // namespace pangu
