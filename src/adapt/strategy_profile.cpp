#include "adapt/strategy_profile.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "adapt/decoding_method.h"
#include "io/json_file.h"
#include "pangu/error.h"

namespace pangu {

namespace {

constexpr const char* kFormat = "pangu-strategy-profile";
constexpr int kVersion = 1;

Interval read_interval(const Json& row, const char* key, const std::string& where) {
  const auto v = json_required<std::vector<double>>(row, key, where);
  PANGU_CHECK(v.size() == 2 && v[0] <= v[1], "{}: \"{}\" must be [low, high] with low <= high", where, key);
  return {v[0], v[1]};
}

// plain | pld:N:K | draft:NAME:K, then optionally +adaptive, then optionally :think / :no_think; a draft must be
// one the profile lists.
void check_method(const std::string& method, const StrategyProfile& p, const std::string& where) {
  const auto m = parse_decoding_method(method);
  if (!m)
    fail("{}: method \"{}\": expected plain, pld:N:K or draft:NAME:K (then +adaptive, :think or :no_think)", where,
         method);
  PANGU_CHECK(m->kind != DecodingMethod::Kind::kDraft || p.drafts.count(m->draft),
              "{}: method \"{}\" names the draft \"{}\", which \"drafts\" does not list", where, method, m->draft);
}

CategoryProfile read_category(const Json& j, const StrategyProfile& p, const std::string& where) {
  PANGU_CHECK(j.is_object(), "{}: expected an object with \"quality\" and \"speed\"", where);
  CategoryProfile c;
  const auto quality = json_required<Json>(j, "quality", where);
  const auto speed = json_required<Json>(j, "speed", where);
  PANGU_CHECK(quality.is_array() && speed.is_array(), "{}: \"quality\" and \"speed\" must be arrays", where);
  for (size_t i = 0; i < quality.size(); ++i) {
    const std::string at = fmt::format("{}.quality[{}]", where, i);
    QualityRow r;
    r.variant = json_required<std::string>(quality[i], "variant", at);
    PANGU_CHECK(p.variants.count(r.variant), "{}: unknown variant \"{}\" (not in \"variants\")", at, r.variant);
    r.metric = json_required<std::string>(quality[i], "metric", at);
    r.value = json_required<double>(quality[i], "value", at);
    r.drop = json_required<double>(quality[i], "drop", at);
    r.drop_ci = read_interval(quality[i], "drop_ci", at);
    r.n = json_required<int64_t>(quality[i], "n", at);
    PANGU_CHECK(r.n >= 1, "{}: \"n\" must be at least 1 (found {})", at, r.n);
    if (const auto d = quality[i].find("details"); d != quality[i].end() && !d->is_null()) {
      PANGU_CHECK(d->is_object(), "{}: \"details\" must be an object of name -> number", at);
      for (const auto& [key, value] : d->items())
        r.details[key] = json_required<double>(*d, key.c_str(), at + ".details");
    }
    c.quality.push_back(std::move(r));
  }
  PANGU_CHECK(!speed.empty(), "{}: \"speed\" holds no rows", where);
  for (size_t i = 0; i < speed.size(); ++i) {
    const std::string at = fmt::format("{}.speed[{}]", where, i);
    SpeedRow r;
    r.variant = json_required<std::string>(speed[i], "variant", at);
    PANGU_CHECK(p.variants.count(r.variant), "{}: unknown variant \"{}\" (not in \"variants\")", at, r.variant);
    r.method = json_required<std::string>(speed[i], "method", at);
    check_method(r.method, p, at);
    r.decode_tps = json_required<double>(speed[i], "decode_tps", at);
    r.decode_tps_ci = read_interval(speed[i], "decode_tps_ci", at);
    PANGU_CHECK(r.decode_tps > 0, "{}: \"decode_tps\" must be positive (found {})", at, r.decode_tps);
    r.ttft_ms = json_optional<double>(speed[i], "ttft_ms", 0.0, at);
    r.acceptance = json_optional<double>(speed[i], "acceptance", 0.0, at);
    r.mean_accepted = json_optional<double>(speed[i], "mean_accepted", 0.0, at);
    r.n = json_required<int64_t>(speed[i], "n", at);
    PANGU_CHECK(r.n >= 1, "{}: \"n\" must be at least 1 (found {})", at, r.n);
    c.speed.push_back(std::move(r));
  }
  return c;
}

Json category_json(const CategoryProfile& c) {
  Json quality = Json::array(), speed = Json::array();
  for (const auto& r : c.quality) {
    Json row = {{"variant", r.variant}, {"metric", r.metric}, {"value", r.value}, {"drop", r.drop},
                {"drop_ci", {r.drop_ci.low, r.drop_ci.high}}, {"n", r.n}};
    if (!r.details.empty()) row["details"] = r.details;
    quality.push_back(std::move(row));
  }
  for (const auto& r : c.speed)
    speed.push_back({{"variant", r.variant}, {"method", r.method}, {"decode_tps", r.decode_tps},
                     {"decode_tps_ci", {r.decode_tps_ci.low, r.decode_tps_ci.high}}, {"ttft_ms", r.ttft_ms},
                     {"acceptance", r.acceptance}, {"mean_accepted", r.mean_accepted}, {"n", r.n}});
  return {{"quality", quality}, {"speed", speed}};
}

}  // namespace

StrategyProfile StrategyProfile::from_json(const std::string& text, const std::string& origin, bool check_paths) {
  const Json j = parse_json_text(text, origin);
  PANGU_CHECK(j.is_object(), "{}: a strategy profile is a JSON object", origin);
  StrategyProfile p;
  p.origin = origin;
  const auto format = json_required<std::string>(j, "format", origin);
  PANGU_CHECK(format == kFormat, "{}: \"format\" is \"{}\", expected \"{}\"", origin, format, kFormat);
  const auto version = json_required<int>(j, "version", origin);
  PANGU_CHECK(version == kVersion, "{}: version {} (this build reads version {})", origin, version, kVersion);
  p.threads = json_optional<int>(j, "threads", 0, origin);
  const auto variants = json_required<Json>(j, "variants", origin);
  PANGU_CHECK(variants.is_object() && !variants.empty(), "{}: \"variants\" must be an object of name -> {{path, resident_bytes}}",
              origin);
  auto read_model = [&](const std::string& name, const Json& v, const std::string& at) {
    ProfileVariant pv;
    pv.name = name;
    pv.path = json_required<std::string>(v, "path", at);
    pv.resident_bytes = json_required<uint64_t>(v, "resident_bytes", at);
    if (check_paths)
      PANGU_CHECK(std::filesystem::is_directory(pv.path),
                  "{}: the directory {} no longer exists (measure the profile again, or fix the path)", at, pv.path);
    return pv;
  };
  for (const auto& [name, v] : variants.items()) p.variants[name] = read_model(name, v, fmt::format("{}: variants.{}", origin, name));
  PANGU_CHECK(p.variants.count("base"), "{}: \"variants\" needs \"base\", the reference for quality", origin);
  if (const auto it = j.find("drafts"); it != j.end() && !it->is_null()) {
    PANGU_CHECK(it->is_object(), "{}: \"drafts\" must be an object of name -> {{path, resident_bytes}}", origin);
    for (const auto& [name, v] : it->items()) p.drafts[name] = read_model(name, v, fmt::format("{}: drafts.{}", origin, name));
  }
  const auto categories = json_required<Json>(j, "categories", origin);
  PANGU_CHECK(categories.is_object(), "{}: \"categories\" must be an object of category -> rows", origin);
  for (const auto& [name, c] : categories.items()) {
    const auto intent = intent_from_name(name);
    PANGU_CHECK(intent, "{}: unknown category \"{}\" (expected chat, translation, summarization, qa, rag, math, code or exam)",
                origin, name);
    p.categories[static_cast<int>(*intent)] = read_category(c, p, fmt::format("{}: categories.{}", origin, name));
  }
  p.overall = read_category(json_required<Json>(j, "overall", origin), p, origin + ": overall");
  if (const auto it = j.find("settings"); it != j.end()) p.settings = *it;
  if (const auto it = j.find("learned"); it != j.end() && !it->is_null()) {
    PANGU_CHECK(it->is_object(), "{}: \"learned\" must be an object of variant -> key -> arms", origin);
    for (const auto& [variant, keys] : it->items()) {
      const std::string at = fmt::format("{}: learned.{}", origin, variant);
      PANGU_CHECK(p.variants.count(variant), "{}: \"{}\" is not one of the variants", at, variant);
      PANGU_CHECK(keys.is_object(), "{}: expected an object of key -> arms", at);
      for (const auto& [key, arms] : keys.items()) {
        const std::string where = at + "." + key;
        PANGU_CHECK(key == "overall" || intent_from_name(key), "{}: \"{}\" is neither a category nor \"overall\"",
                    where, key);
        PANGU_CHECK(arms.is_array(), "{}: expected a list of arms", where);
        auto& out = p.learned[variant][key];
        for (size_t i = 0; i < arms.size(); ++i) {
          const std::string arm_at = fmt::format("{}[{}]", where, i);
          LearnedArm a;
          a.method = json_required<std::string>(arms[i], "method", arm_at);
          check_method(a.method, p, arm_at);
          a.weight = json_required<double>(arms[i], "weight", arm_at);
          a.mean_tps = json_required<double>(arms[i], "mean_tps", arm_at);
          PANGU_CHECK(std::isfinite(a.weight) && a.weight >= 0 && std::isfinite(a.mean_tps) && a.mean_tps >= 0,
                      "{}: weight {} and mean_tps {} must be finite and >= 0", arm_at, a.weight, a.mean_tps);
          out.push_back(a);
        }
      }
    }
  }
  return p;
}

StrategyProfile StrategyProfile::load(const std::string& path, bool check_paths) {
  return from_json(read_text_file(path, "strategy profile"), path, check_paths);
}

std::string StrategyProfile::to_json() const {
  Json variants_json = Json::object(), drafts_json = Json::object(), categories_json = Json::object();
  for (const auto& [name, v] : variants) variants_json[name] = {{"path", v.path}, {"resident_bytes", v.resident_bytes}};
  for (const auto& [name, v] : drafts) drafts_json[name] = {{"path", v.path}, {"resident_bytes", v.resident_bytes}};
  for (int i = 0; i < kIntentCount; ++i)
    if (categories[i]) categories_json[std::string(intent_name(static_cast<Intent>(i)))] = category_json(*categories[i]);
  Json j = {{"format", kFormat}, {"version", kVersion}, {"threads", threads}, {"variants", variants_json},
            {"drafts", drafts_json}, {"categories", categories_json}, {"overall", category_json(overall)}};
  if (!settings.is_null()) j["settings"] = settings;
  if (!learned.empty()) {
    Json learned_json = Json::object();
    for (const auto& [variant, keys] : learned)
      for (const auto& [key, arms] : keys) {
        Json list = Json::array();
        for (const LearnedArm& a : arms) list.push_back({{"method", a.method}, {"weight", a.weight}, {"mean_tps", a.mean_tps}});
        learned_json[variant][key] = list;
      }
    j["learned"] = learned_json;
  }
  return j.dump(2) + "\n";
}

}  // namespace pangu
