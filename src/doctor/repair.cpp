#include "gradscope/doctor/repair.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

namespace gradscope {

namespace {

bool is_option(std::string_view token) { return token.size() > 2 && token.starts_with("--"); }

// One option with its value, in the tokens it was written as (`--act relu`, `--act=relu`,
// `--residual`); `name` is empty for a token that belongs to no option.
struct FlagGroup {
  std::string name;
  std::vector<std::string> tokens;
  std::string value() const {
    if (tokens.size() == 2) return tokens[1];
    const std::size_t equals = tokens.front().find('=');
    return equals == std::string::npos ? std::string() : tokens.front().substr(equals + 1);
  }
};

std::vector<FlagGroup> group_flags(const std::vector<std::string>& flags) {
  std::vector<FlagGroup> groups;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    const std::string& token = flags[i];
    if (!is_option(token)) {
      groups.push_back({"", {token}});
      continue;
    }
    const std::size_t equals = token.find('=');
    FlagGroup group{token.substr(0, equals), {token}};
    if (equals == std::string::npos && i + 1 < flags.size() && !is_option(flags[i + 1])) {
      group.tokens.push_back(flags[++i]);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<std::string> flatten(const std::vector<FlagGroup>& groups) {
  std::vector<std::string> flags;
  for (const FlagGroup& group : groups) {
    flags.insert(flags.end(), group.tokens.begin(), group.tokens.end());
  }
  return flags;
}

void erase_named(std::vector<FlagGroup>& groups, std::string_view name) {
  std::erase_if(groups, [&](const FlagGroup& g) { return g.name == name; });
}

// A switch to a gated cell: at initialisation its forget (update) gate is about half open and
// its gradient through time vanishes about as fast as the vanilla RNN's; the gates learn to keep.
bool switches_to_gated_cell(const std::vector<std::string>& changes) {
  for (const FlagGroup& group : group_flags(changes)) {
    if (group.name == "--model" && (group.value() == "lstm" || group.value() == "gru")) {
      return true;
    }
  }
  return false;
}

bool only_training_options(const std::vector<std::string>& changes) {
  const std::vector<FlagGroup> groups = group_flags(changes);
  return !groups.empty() && std::all_of(groups.begin(), groups.end(), [](const FlagGroup& g) {
    return is_training_option(g.name);
  });
}

bool has_code(const Diagnosis& diagnosis, std::string_view code) {
  return std::any_of(diagnosis.findings.begin(), diagnosis.findings.end(),
                     [&](const Finding& f) { return f.code == code; });
}

// The last step that holds layer records or per-step curves (a probe run has one).
const LoggedStep* profiled_step(const LoggedRun& run) {
  for (auto it = run.steps.rbegin(); it != run.steps.rend(); ++it) {
    if (!it->layers.empty() || !it->time_steps.empty()) return &*it;
  }
  return nullptr;
}

// |log10(first / last)| of a curve; +inf when an end is non-finite, empty when unusable.
std::optional<double> spread(const std::optional<double>& first, const std::optional<double>& last,
                             bool any_nonfinite) {
  if (any_nonfinite) return std::numeric_limits<double>::infinity();
  if (!first || !last) return std::nullopt;
  if (!std::isfinite(*first) || !std::isfinite(*last)) {
    return std::numeric_limits<double>::infinity();
  }
  if (*first <= 0.0 || *last <= 0.0) return std::nullopt;
  return std::abs(std::log10(*first / *last));
}

std::optional<double> gradient_spread(const LoggedStep& step) {
  if (!step.time_steps.empty()) {
    const std::vector<std::optional<double>>& curve = step.time_steps.back().grad_norm;
    if (curve.empty()) return std::nullopt;
    const bool nonfinite = std::any_of(curve.begin(), curve.end(),
                                       [](const auto& v) { return v && !std::isfinite(*v); });
    return spread(curve.front(), curve.back(), nonfinite);
  }
  if (step.layers.size() < 2) return std::nullopt;
  const bool nonfinite = std::any_of(step.layers.begin(), step.layers.end(),
                                     [](const LoggedLayer& l) { return l.nonfinite; });
  return spread(step.layers.front().grad_norm, step.layers.back().grad_norm, nonfinite);
}

std::optional<double> largest_fraction(const LoggedStep& step,
                                       std::optional<double> LoggedLayer::*field) {
  std::optional<double> largest;
  for (const LoggedLayer& layer : step.layers) {
    const std::optional<double>& value = layer.*field;
    if (value && std::isfinite(*value)) largest = std::max(largest.value_or(0.0), *value);
  }
  return largest;
}

std::optional<double> last_finite(const std::vector<LoggedStep>& steps) {
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (it->loss && std::isfinite(*it->loss)) return it->loss;
  }
  return std::nullopt;
}

nlohmann::json number_or_null(const std::optional<double>& value) {
  return value && std::isfinite(*value) ? nlohmann::json(*value) : nlohmann::json();
}

// The options of `after` that `before` does not hold with the same tokens: what a repair changed.
std::vector<std::string> changed_flags(const std::vector<std::string>& before,
                                       const std::vector<std::string>& after) {
  const std::vector<FlagGroup> old_groups = group_flags(before);
  std::vector<FlagGroup> changed = group_flags(after);
  std::erase_if(changed, [&](const FlagGroup& g) {
    return std::any_of(old_groups.begin(), old_groups.end(),
                       [&](const FlagGroup& old) { return old.tokens == g.tokens; });
  });
  return flatten(changed);
}

// The short training run of `trial.flags`, diagnosed.
void train_trial(RepairTrial& trial, TrialRunner& runner, const Diagnoser& diagnoser) {
  const LoggedRun run = runner.train(trial.flags);
  trial.trained = true;
  trial.diagnosis = diagnoser(run);
  trial.final_loss = last_finite(run.steps);
  if (!run.evals.empty()) trial.test_loss = run.evals.back().loss;
  trial.status = run.end ? run.end->status : std::string();
}

// The probes of the command lines seen so far: a candidate and its base share model flags often.
class ProbeCache {
 public:
  explicit ProbeCache(TrialRunner& runner) : runner_(runner) {}
  const LoggedRun& get(const std::vector<std::string>& flags) {
    const std::vector<std::string> key = model_flags(flags);
    auto it = runs_.find(key);
    if (it == runs_.end()) it = runs_.emplace(key, runner_.probe(flags)).first;
    return it->second;
  }

 private:
  TrialRunner& runner_;
  std::map<std::vector<std::string>, LoggedRun> runs_;
};

void cheap_check(RepairTrial& trial, const std::vector<std::string>& base, ProbeCache& probes) {
  if (only_training_options(trial.change)) {
    trial.check = CheapCheck::kNotVisible;
    return;
  }
  const std::optional<ProfileMeasure> before = profile_measure(probes.get(base), trial.target);
  const std::optional<ProfileMeasure> after =
      profile_measure(probes.get(trial.flags), trial.target);
  if (before) trial.measure_before = before->value;
  if (after) trial.measure_after = after->value;
  const bool improved =
      before && after && std::isfinite(after->value) &&
      (after->value <= before->value - after->min_gain || after->value <= after->good_enough);
  if (improved) {
    trial.check = CheapCheck::kImproved;
  } else if (switches_to_gated_cell(trial.change)) {
    trial.check = CheapCheck::kDeferred;
  } else {
    trial.check = before && after ? CheapCheck::kNotImproved : CheapCheck::kUnavailable;
  }
}

}  // namespace

std::vector<std::string> apply_flags(const std::vector<std::string>& flags,
                                     const std::vector<std::string>& changes) {
  std::vector<FlagGroup> groups = group_flags(flags);
  for (FlagGroup& change : group_flags(changes)) {
    if (change.name == "--init" && change.value() != "gaussian") {
      erase_named(groups, "--sigma-w2");
      erase_named(groups, "--sigma-b2");
    }
    auto first = std::find_if(groups.begin(), groups.end(), [&](const FlagGroup& g) {
      return !change.name.empty() && g.name == change.name;
    });
    if (first == groups.end()) {
      groups.push_back(std::move(change));
      continue;
    }
    const std::string name = change.name;
    *first = std::move(change);
    const std::ptrdiff_t kept = first - groups.begin();
    groups.erase(std::remove_if(groups.begin() + kept + 1, groups.end(),
                                [&](const FlagGroup& g) { return g.name == name; }),
                 groups.end());
  }
  return flatten(groups);
}

bool is_training_option(std::string_view option) {
  static constexpr std::array<std::string_view, 17> kTrainingOptions = {
      "--steps",        "--optimizer",
      "--lr",           "--momentum",
      "--nesterov",     "--weight-decay",
      "--clip",         "--clip-value",
      "--on-nonfinite", "--log",
      "--probe-every",  "--spectrum-every",
      "--eval-every",   "--progress-every",
      "--load-weights", "--save-weights",
      "--json"};
  return std::find(kTrainingOptions.begin(), kTrainingOptions.end(), option) !=
         kTrainingOptions.end();
}

std::vector<std::string> model_flags(const std::vector<std::string>& flags) {
  std::vector<FlagGroup> groups = group_flags(flags);
  std::erase_if(groups, [](const FlagGroup& g) { return is_training_option(g.name); });
  return flatten(groups);
}

std::vector<std::string> without_options(const std::vector<std::string>& flags,
                                         const std::vector<std::string_view>& options) {
  std::vector<FlagGroup> groups = group_flags(flags);
  std::erase_if(groups, [&](const FlagGroup& g) {
    return std::find(options.begin(), options.end(), g.name) != options.end();
  });
  return flatten(groups);
}

std::string join_flags(const std::vector<std::string>& flags) {
  std::string joined;
  for (const std::string& token : flags) {
    if (!joined.empty()) joined += ' ';
    const bool plain = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
             std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    });
    if (plain) {
      joined += token;
      continue;
    }
    joined += '\'';
    for (char c : token) joined += c == '\'' ? std::string("'\\''") : std::string(1, c);
    joined += '\'';
  }
  return joined;
}

std::string_view cheap_check_name(CheapCheck check) {
  switch (check) {
    case CheapCheck::kImproved:
      return "improved";
    case CheapCheck::kNotImproved:
      return "not improved";
    case CheapCheck::kNotVisible:
      return "not visible at init";
    case CheapCheck::kDeferred:
      return "deferred to training";
    case CheapCheck::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

std::optional<ProfileMeasure> profile_measure(const LoggedRun& probe, std::string_view code) {
  const LoggedStep* step = profiled_step(probe);
  if (step == nullptr) return std::nullopt;
  std::optional<double> value;
  if (code == kVanishingGradient || code == kExplodingGradient || code == kVanishingThroughTime) {
    value = gradient_spread(*step);
    // One decade better passes, and so does a profile within one decade end to end.
    if (value) return ProfileMeasure{"decades", *value, 1.0, 1.0};
  } else if (code == kSaturation) {
    value = largest_fraction(*step, &LoggedLayer::saturated);
    if (value) return ProfileMeasure{"fraction", *value, 0.1, 0.05};
  } else if (code == kDyingRelu) {
    value = largest_fraction(*step, &LoggedLayer::dead);
    if (value) return ProfileMeasure{"fraction", *value, 0.1, 0.05};
  }
  return std::nullopt;
}

RepairReport repair(const std::vector<std::string>& flags, TrialRunner& runner,
                    const RepairBudget& budget, const Diagnoser& diagnoser) {
  RepairReport report;
  report.flags = flags;
  report.before.flags = flags;
  train_trial(report.before, runner, diagnoser);
  if (report.before.healthy()) return report;

  ProbeCache probes(runner);
  std::vector<std::string> base = flags;
  Finding target = report.before.diagnosis.findings.front();
  std::vector<Prescription> queue = target.prescriptions;
  std::vector<std::vector<std::string>> tried = {flags};
  int candidates = 0;
  int trainings = 0;
  while (!queue.empty() && candidates < budget.max_candidates) {
    const Prescription prescription = queue.front();
    queue.erase(queue.begin());
    RepairTrial trial;
    trial.flags = apply_flags(base, prescription.flags);
    if (std::find(tried.begin(), tried.end(), trial.flags) != tried.end()) continue;
    tried.push_back(trial.flags);
    ++candidates;
    trial.change = prescription.flags;
    trial.advice = prescription.advice;
    trial.target = target.code;
    cheap_check(trial, base, probes);
    if (trial.check != CheapCheck::kNotImproved && trainings < budget.max_trainings) {
      train_trial(trial, runner, diagnoser);
      ++trainings;
    }
    report.candidates.push_back(trial);
    if (trial.healthy()) {
      report.fixed = true;
      report.fixed_flags = trial.flags;
      report.fix = changed_flags(flags, trial.flags);
      return report;
    }
    if (budget.combine && trial.trained && !has_code(trial.diagnosis, target.code) &&
        !trial.diagnosis.findings.empty()) {
      base = trial.flags;
      target = trial.diagnosis.findings.front();
      queue = target.prescriptions;
    }
  }
  return report;
}

nlohmann::json to_json(const RepairTrial& trial) {
  nlohmann::json findings = nlohmann::json::array();
  for (const Finding& finding : trial.diagnosis.findings) findings.push_back(to_json(finding));
  return {{"flags", trial.flags},
          {"change", trial.change},
          {"advice", trial.advice},
          {"target", trial.target},
          {"cheap_check",
           trial.change.empty() ? nlohmann::json() : nlohmann::json(cheap_check_name(trial.check))},
          {"measure_before", number_or_null(trial.measure_before)},
          {"measure_after", number_or_null(trial.measure_after)},
          {"trained", trial.trained},
          {"healthy", trial.healthy()},
          {"findings", trial.trained ? findings : nlohmann::json()},
          {"final_loss", number_or_null(trial.final_loss)},
          {"test_loss", number_or_null(trial.test_loss)},
          {"status", trial.status}};
}

nlohmann::json to_json(const RepairReport& report) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const RepairTrial& trial : report.candidates) candidates.push_back(to_json(trial));
  return {{"flags", report.flags},   {"healthy_before", report.healthy_before()},
          {"fixed", report.fixed},   {"fixed_flags", report.fixed_flags},
          {"fix", report.fix},       {"before", to_json(report.before)},
          {"candidates", candidates}};
}

}  // namespace gradscope
