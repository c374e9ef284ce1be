// MMLU and C-Eval: four-option questions per subject, five shots from the subject's dev split, the answer
// letter chosen by next-token log-probability.
#pragma once

#include <memory>

#include "eval/tasks.h"

namespace pangu {

std::unique_ptr<EvalTask> make_mmlu_task();
std::unique_ptr<EvalTask> make_ceval_task();

}  // namespace pangu
