// Online choice of the decoding method per request category (the key: a category name, or "overall" for
// requests whose category is uncertain) while serving: a bandit over the methods the
// policy left eligible (plain and the speculative ones of the chosen variant). Each finished request
// reports the decode speed it got; the choice follows the best measured mean, and keeps exploring a little
// (discounted UCB: old observations fade, so a method that stops paying is dropped and one that starts
// paying is taken again). The profile's measurements are the starting prior.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>


namespace pangu {

struct BanditOptions {
  double discount = 0.75;     // weight kept by past observations at each new one of the category
  double exploration = 0.15;  // UCB width, relative to the arms' mean speed
  double prior_weight = 1.0;  // pseudo-observations given to the profile's figure
};

class MethodBandit {
 public:
  explicit MethodBandit(BanditOptions options = {}) : options_(options) {}

  // Declares an arm of `key` with the speed the profile measured (tokens/s) as its prior; no-op when the
  // arm exists.
  void add_arm(const std::string& key, const std::string& method, double prior_tps);
  // The method to use next for the key (the arms in the order added when nothing is known).
  std::string choose(const std::string& key) const;
  // A finished request of the key decoded with `method` at `tps` tokens/s.
  void observe(const std::string& key, const std::string& method, double tps);

  struct Arm {
    std::string method;
    double weight = 0;  // discounted count
    double sum = 0;     // discounted sum of tokens/s
    double mean() const { return weight > 0 ? sum / weight : 0; }
  };
  std::vector<Arm> arms(const std::string& key) const;  // a snapshot, for reporting
  std::map<std::string, std::vector<Arm>> all_arms() const;  // every key's, for saving
  // Puts back arms saved earlier (replacing the key's): what a restarted server had learned.
  void restore(const std::string& key, std::vector<Arm> arms);

 private:
  BanditOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Arm>> arms_;  // by key: a category name, or "overall"
};

}  // namespace pangu
