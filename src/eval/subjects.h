// The subjects of MMLU and C-Eval: display names (C-Eval's in Chinese, as its prompt uses them) and the
// categories their papers average over.
#pragma once

#include <string>

namespace pangu {

struct SubjectInfo {
  std::string display;   // "abstract algebra", "计算机网络"
  std::string category;  // MMLU: STEM | humanities | social sciences | other; C-Eval: STEM | Social Science | Humanities | Other
};

// A subject missing from the published tables (another release, a custom set) gets its file name with
// spaces for underscores and the category "other".
SubjectInfo mmlu_subject(const std::string& name);
SubjectInfo ceval_subject(const std::string& name);

}  // namespace pangu
