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

// A probability in (0, 1) written as a plain decimal, the whole of `s`.
std::optional<double> probability(const std::string& s) {
  if (s.empty() || s.size() > 8 || s.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !(v > 0.0 && v < 1.0)) return std::nullopt;
  return v;
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
  // The options, each at most once, in any order: "+adaptive", "+pmin=P".
  for (size_t plus; (plus = rest.rfind('+')) != std::string::npos;) {
    const std::string option = rest.substr(plus + 1);
    if (option == "adaptive" && !m.adaptive) {
      m.adaptive = true;
    } else if (option.rfind("pmin=", 0) == 0 && m.min_probability == 0.0) {
      const auto p = probability(option.substr(5));
      if (!p) return std::nullopt;
      m.min_probability = *p;
    } else {
      return std::nullopt;
    }
    rest.resize(plus);
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() == 1 && parts[0] == "plain" && !m.adaptive && m.min_probability == 0.0) return m;
  if (parts.size() != 3) return std::nullopt;
  const auto k = small_count(parts[2]);
  if (!k) return std::nullopt;
  m.k = *k;
  if (parts[0] == "pld") {
    if (m.min_probability > 0.0) return std::nullopt;  // prompt lookup has no probabilities
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
