// The smallest program on the installed library: load a model directory, continue a prompt greedily.
//   pangu_generate MODEL_DIR PROMPT [N_TOKENS]
#include <pangu/error.h>
#include <pangu/generate.h>
#include <pangu/model.h>
#include <pangu/thread_pool.h>
#include <pangu/tokenizer.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR PROMPT [N_TOKENS]\n", argv[0]);
    return 2;
  }
  try {
    const auto model = pangu::Model::load(argv[1]);
    const auto tokenizer = pangu::load_tokenizer(argv[1]);
    pangu::ThreadPool pool(1);
    pangu::Session session(*model, 512, pool);
    pangu::GenerateOptions options;
    options.max_new_tokens = argc > 3 ? std::atoi(argv[3]) : 16;
    options.sampling.greedy = true;
    options.eos_token_ids = model->eos_token_ids();
    const auto result = pangu::generate(session, tokenizer.get(), tokenizer->encode(argv[2]), options);
    std::printf("%s\n", result.text.c_str());
  } catch (const pangu::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
