// Text for perplexity, calibration and distillation: plain text files, the string fields of JSONL records,
// or the cells of CSV files; a directory stands for its files in name order.
#pragma once

#include <string>
#include <vector>

namespace pangu {

// Concatenates every document of every path, separated by blank lines. Errors name the file and line.
std::string read_text_corpus(const std::vector<std::string>& paths);

// The documents of one file: a whole plain-text file is one document, a JSONL line or CSV row is another.
std::vector<std::string> read_corpus_documents(const std::string& path);

}  // namespace pangu
