// Vanishing gradients through time (the article's third bullet, and "Why Vanilla RNNs Have This
// Problem"): the per-step gradient ||dL/dh_t|| shrinks geometrically going back from the last
// step, so beyond a horizon of H steps it is below 1e-6 of the last step's and the model cannot
// learn dependencies longer than H. A problem when H is shorter than the task's sequence.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "gradscope/doctor/rules.hpp"
#include "gradscope/doctor/run_profile.hpp"

namespace gradscope::doctor {

namespace {

// The article's 1e-6: a gradient that small carries no usable signal.
constexpr double kFloor = 1e-6;
// The horizon must fall short on at least half of the probed steps.
constexpr double kMinFraction = 0.5;
// Across runs: "learned" ends below half the task's baseline loss; "plateaued" ends within 20%
// of it (or above).
constexpr double kLearned = 0.5;
constexpr double kPlateau = 0.8;

std::vector<Prescription> prescriptions(const LoggedRun& run, long horizon) {
  std::vector<Prescription> out;
  const std::string& model = run.settings.model;
  if (model != "lstm") {
    out.push_back(
        {"Switch to a gated recurrence (LSTM) with its forget gate open (f ~ 1): the "
         "cell state's additive path has Jacobian ~ I",
         {"--model", "lstm", "--forget-bias", "5"}});
  } else {
    out.push_back({"Open the LSTM's forget gate further (f ~ 1 keeps dc_t/dc_{t-1} ~ I)",
                   {"--forget-bias", "5"}});
  }
  if (model != "gru") {
    out.push_back({"Or a GRU (gated, with an additive update path)", {"--model", "gru"}});
  }
  if (horizon > 0) {
    out.push_back(
        {fmt::format("Truncate BPTT to the {} steps the gradient actually reaches: cheaper and "
                     "stable, but no dependency longer than that is learned through the gradient",
                     horizon),
         {"--tbptt", fmt::format("{}", horizon)}});
  }
  return out;
}

}  // namespace

std::optional<Finding> vanishing_through_time_rule(const LoggedRun& run) {
  const bool truncated = run.settings.tbptt.value_or(0) > 0;
  std::vector<TimeProfile> shortest;  // per probed step, the layer with the shortest horizon
  for (const LoggedStep* step : probed_steps(run)) {
    std::optional<TimeProfile> worst;
    for (const LoggedTimeSteps& curve : step->time_steps) {
      std::optional<TimeProfile> p = time_profile(curve, step->step, kFloor, truncated);
      if (p && (!worst || p->horizon < worst->horizon)) worst = p;
    }
    if (worst) shortest.push_back(*worst);
  }
  if (shortest.empty()) return std::nullopt;
  std::vector<const TimeProfile*> short_steps;
  std::vector<double> horizons;
  for (const TimeProfile& p : shortest) {
    horizons.push_back(static_cast<double>(p.horizon));
    if (p.horizon < p.length) short_steps.push_back(&p);
  }
  const double fraction =
      static_cast<double>(short_steps.size()) / static_cast<double>(shortest.size());
  if (short_steps.empty() || fraction < kMinFraction) return std::nullopt;

  const long horizon = std::lround(median(horizons));
  const TimeProfile* shown = short_steps.front();
  for (const TimeProfile* p : short_steps) {
    if (std::abs(p->horizon - horizon) < std::abs(shown->horizon - horizon)) shown = p;
  }
  const long length = shown->length;
  Finding f;
  f.code = std::string(kVanishingThroughTime);
  f.severity = 2 * horizon <= length ? Severity::kCritical : Severity::kWarning;
  f.summary = fmt::format(
      "Vanishing gradients through time: the gradient reaches back {} of the sequence's {} steps",
      horizon, length);
  f.evidence.push_back(fmt::format(
      "at training step {}, recurrent layer {}: ||dL/dh_t|| falls below 1e-6 of the last step's "
      "({}) after {} steps back from t={}, decaying {} decades per step",
      shown->step, shown->layer, num(shown->last), shown->horizon, length,
      num(shown->decades_per_step)));
  f.evidence.push_back(fmt::format(
      "effective horizon (median over probed steps) {} steps against a sequence of {}; short on {} "
      "of {} probed steps ({})",
      horizon, length, short_steps.size(), shortest.size(),
      step_range(short_steps.front()->step, short_steps.back()->step)));
  nlohmann::json data = {{"horizon", horizon},
                         {"seq", length},
                         {"layer", shown->layer},
                         {"step", shown->step},
                         {"decades_per_step", shown->decades_per_step},
                         {"steps_short", short_steps.size()},
                         {"steps_probed", shortest.size()},
                         {"first_step", short_steps.front()->step},
                         {"last_step", short_steps.back()->step}};
  if (run.settings.baseline_loss) {
    if (const std::optional<double> loss = final_loss(run)) {
      const double baseline = *run.settings.baseline_loss;
      f.evidence.push_back(fmt::format(
          "final loss {} against the task's baseline {} (a model that carries nothing across the "
          "sequence){}",
          num(*loss), num(baseline), *loss >= kPlateau * baseline ? ": a plateau" : ""));
      data["final_loss"] = *loss;
      data["baseline_loss"] = baseline;
    }
  }
  if (truncated) {
    f.evidence.push_back(fmt::format("truncated BPTT window {} (zeros outside it are ignored)",
                                     *run.settings.tbptt));
  }
  f.evidence_data = std::move(data);
  f.prescriptions = prescriptions(run, truncated ? 0 : horizon);
  return f;
}

std::vector<Finding> sequence_length_rule(const std::vector<LoggedRun>& runs) {
  // Group the recurrent runs by model, cell, task; keep those whose seq and baseline are known.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunSettings& s = runs[i].settings;
    if (!s.seq || !s.baseline_loss || !is_recurrent_run(runs[i])) continue;
    groups[{s.model, s.cell, s.task}].push_back(i);
  }
  std::vector<Finding> findings;
  for (const auto& [key, members] : groups) {
    // The longest sequence that was learned.
    long learned_seq = 0;
    double learned_loss = 0.0;
    for (std::size_t i : members) {
      const std::optional<double> loss = final_loss(runs[i]);
      const double baseline = *runs[i].settings.baseline_loss;
      if (loss && *loss<kLearned * baseline&& * runs[i].settings.seq> learned_seq) {
        learned_seq = *runs[i].settings.seq;
        learned_loss = *loss;
      }
    }
    if (learned_seq == 0) continue;
    for (std::size_t i : members) {
      const long seq = *runs[i].settings.seq;
      const std::optional<double> loss = final_loss(runs[i]);
      const double baseline = *runs[i].settings.baseline_loss;
      if (seq <= learned_seq || !loss || *loss < kPlateau * baseline) continue;
      Finding f;
      f.code = std::string(kVanishingThroughTime);
      f.severity = Severity::kCritical;
      f.run = static_cast<long>(i);
      f.summary = fmt::format(
          "Vanishing gradients through time: the same {} learns at sequence length {} but "
          "plateaus at {}",
          std::get<0>(key), learned_seq, seq);
      f.evidence.push_back(fmt::format(
          "across runs: final loss {} at seq {} (learned: below half the baseline {}), {} at seq "
          "{} (a plateau at the baseline)",
          num(learned_loss), learned_seq, num(baseline), num(*loss), seq));
      f.evidence_data = {{"learned_seq", learned_seq},
                         {"learned_loss", learned_loss},
                         {"plateau_seq", seq},
                         {"plateau_loss", *loss},
                         {"baseline_loss", baseline}};
      f.prescriptions = prescriptions(runs[i], 0);
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

}  // namespace gradscope::doctor
