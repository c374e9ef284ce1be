// `pangu adapt profile`: measures a strategy profile (strategy_profile.h) on the machine it runs on. For each
// variant: its resident memory; per category, its quality against base (the category's task score through
// the eval harness where it has one, else fidelity to base's greedy output) and the decoding speed of each
// method on the category's requests. Every finished measurement is journaled, so a run that is stopped
// resumes where it was; the profile itself is written once, atomically, at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "adapt/intent.h"
#include "adapt/strategy_profile.h"

namespace pangu {

struct ProfileRequest {
  std::string id;  // stable across runs: what the journal keys on
  std::string text;
  Intent category = Intent::kChat;
};

// Requests from JSONL lines {"text", "label"} (label: a category name): `per_category` of each category,
// spread evenly over the category's lines; ids name the line. Errors name the file and line.
std::vector<ProfileRequest> read_labeled_requests(const std::string& path, int64_t per_category);

struct ProfileSettings {
  std::vector<std::pair<std::string, std::string>> variants;  // name -> model directory; "base" included
  std::vector<std::pair<std::string, std::string>> drafts;    // name -> model directory
  std::vector<std::string> methods;                           // plain, pld:N:K, draft:NAME:K (+adaptive)
  std::vector<ProfileRequest> requests;                       // the categories' sample requests
  int64_t max_tokens = 64;         // generated per request (greedy)
  int64_t max_prompt_tokens = 256; // a longer request keeps its last tokens
  bool raw_prompts = false;        // requests as text to continue, not in the variants' chat template
  int64_t ctx = 0;                 // 0: min(the model's context, 4096)
  int threads = 0;                 // 0: the default for the base model
  // Scored categories (math: gsm8k, code: mbpp, exam: mmlu) through the eval harness; 0 turns them off and
  // those categories are scored by fidelity like the others.
  int64_t scored_per_category = 8;
  int shots = -1;                  // -1: each task's default
  int64_t task_max_tokens = 256;
  std::string data_dir;            // the eval data (gsm8k/, mbpp/, mmlu/)
};

// The task that scores a category, or empty when fidelity to base does.
std::string scored_task_for(Intent category);

// `journal_path` holds one line per finished measurement; with resume, what it holds is kept (it must have
// been written with the same settings), else it is started afresh. Progress goes to stderr (core/log.h).
StrategyProfile measure_profile(const ProfileSettings& settings, const std::string& journal_path, bool resume);

}  // namespace pangu
