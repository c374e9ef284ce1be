#include "adapt/decoding_method.h"

#include <cstdlib>
#include <vector>

namespace pangu {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A positive integer of at most 4 digits, the whole of `s`.
std::optional<int> small_count(const std::string& s) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int v = std::atoi(s.c_str());
  return v >= 1 ? std::optional<int>(v) : std::nullopt;
}

}  // namespace

std::optional<DecodingMethod> parse_decoding_method(const std::string& text) {
  DecodingMethod m;
  std::string rest = text;
  for (const char* mode : {"no_think", "think"}) {
    const std::string suffix = std::string(":") + mode;
    if (ends_with(rest, suffix)) {
      m.thinking = mode;
      rest.resize(rest.size() - suffix.size());
      break;
    }
  }
  if (ends_with(rest, "+adaptive")) {
    m.adaptive = true;
    rest.resize(rest.size() - 9);
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() == 1 && parts[0] == "plain" && !m.adaptive) return m;
  if (parts.size() != 3) return std::nullopt;
  const auto k = small_count(parts[2]);
  if (!k) return std::nullopt;
  m.k = *k;
  if (parts[0] == "pld") {
    const auto n = small_count(parts[1]);
    if (!n) return std::nullopt;
    m.kind = DecodingMethod::Kind::kPld;
    m.n = *n;
    return m;
  }
  if (parts[0] == "draft" && !parts[1].empty()) {
    m.kind = DecodingMethod::Kind::kDraft;
    m.draft = parts[1];
    return m;
  }
  return std::nullopt;
}

}  // namespace pangu
