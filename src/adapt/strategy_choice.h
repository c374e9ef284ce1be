// The strategy for one request outside a serving loop (`pangu run`, `pangu chat`'s named strategies, the Python
// module): "auto" classifies the request and asks the policy (strategy_policy.h); "VARIANT/METHOD" names a
// variant of the profile and a decoding method (decoding_method.h). Errors name the strategy text as given.
#pragma once

#include <string>
#include <string_view>

#include "adapt/decoding_method.h"
#include "adapt/strategy_policy.h"
#include "io/json_file.h"

namespace pangu {

struct NamedStrategy {
  std::string variant;
  std::string method_text;
  DecodingMethod method;
};

// "VARIANT/METHOD" checked against the profile: the variant exists, the method parses and names a listed draft.
NamedStrategy parse_named_strategy(const StrategyProfile& profile, const std::string& text);

// The name of the profile variant stored at `path` (compared as canonical paths), or empty.
std::string profile_variant_at(const StrategyProfile& profile, const std::string& path);

struct StrategyChoice {
  std::string category;  // the request's category as the policy used it
  double confidence = 0;
  std::string variant, path, method;
  std::string why;
  Json to_json() const;
};

// `strategy` is "auto" or "VARIANT/METHOD". policy.only_variant (a model already given) narrows auto to that
// variant's rows, and a named strategy must name it.
StrategyChoice choose_strategy(const StrategyProfile& profile, const std::string& strategy, std::string_view request,
                               const PolicyOptions& policy);

}  // namespace pangu
