// A profile's decoding method as text (docs/formats.md, "Strategy profiles"): plain, pld:N:K, draft:NAME:K,
// with "+adaptive" for adaptive K, "+pmin=P" (draft only) to stop drafting after a token the draft gives less
// than probability P (K is then the most per step), and the thinking mode as ":think" / ":no_think". The server, `pangu run`
// and `pangu chat` read it the same way.
#pragma once

#include <optional>
#include <string>

namespace pangu {

struct DecodingMethod {
  enum class Kind { kPlain, kPld, kDraft };
  Kind kind = Kind::kPlain;
  int n = 0;          // pld: longest n-gram
  int k = 0;          // pld, draft: tokens proposed per step (the start value when adaptive)
  std::string draft;  // draft: the profile's draft model name
  bool adaptive = false;
  double min_probability = 0.0;  // draft: 0, or the "+pmin=" confidence below which drafting stops
  std::string thinking;  // "", "think" or "no_think"
};

// nullopt when the text is none of the forms above.
std::optional<DecodingMethod> parse_decoding_method(const std::string& text);

}  // namespace pangu
