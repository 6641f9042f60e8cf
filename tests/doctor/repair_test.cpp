// The repair loop with scripted runs: a fake TrialRunner whose probes carry chosen gradient
// profiles and whose training runs carry the command line, and a fake Diagnoser that returns
// the findings scripted for that command line.
#include "gradscope/doctor/repair.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"

namespace gradscope {
namespace {

using Flags = std::vector<std::string>;

Finding finding(std::string_view code, std::vector<Prescription> prescriptions) {
  Finding f;
  f.code = std::string(code);
  f.severity = Severity::kCritical;
  f.summary = std::string(code);
  f.prescriptions = std::move(prescriptions);
  return f;
}

// A probe run of an MLP: one step whose layers have these gradient norms, input side first.
LoggedRun mlp_probe(const std::vector<double>& grad_norms) {
  LoggedRun run;
  LoggedStep step;
  step.step = 1;
  for (std::size_t l = 0; l < grad_norms.size(); ++l) {
    LoggedLayer layer;
    layer.index = static_cast<long>(l) + 1;
    layer.grad_norm = grad_norms[l];
    layer.saturated = 0.0;
    layer.dead = 0.0;
    step.layers.push_back(layer);
  }
  run.steps.push_back(step);
  return run;
}

// A probe run of a recurrent model: one step with the top layer's per-step gradient norms.
LoggedRun rnn_probe(const std::vector<double>& grad_norms) {
  LoggedRun run;
  LoggedStep step;
  step.step = 1;
  LoggedTimeSteps curve;
  for (double g : grad_norms) curve.grad_norm.emplace_back(g);
  step.time_steps.push_back(curve);
  run.steps.push_back(step);
  return run;
}

class ScriptedRunner final : public TrialRunner {
 public:
  // Probe profiles by model flags (training-only options removed), findings by whole command.
  std::map<std::string, LoggedRun> probes;
  std::map<std::string, std::vector<Finding>> outcomes;
  std::vector<std::string> calls;  // "probe <flags>" / "train <flags>", in order

  LoggedRun probe(const Flags& flags) override {
    const std::string key = join_flags(model_flags(flags));
    calls.push_back("probe " + key);
    const auto it = probes.find(key);
    if (it == probes.end()) throw Error(ErrorKind::kRuntime, "unscripted probe: " + key);
    return it->second;
  }
  LoggedRun train(const Flags& flags) override {
    const std::string key = join_flags(flags);
    calls.push_back("train " + key);
    if (outcomes.find(key) == outcomes.end()) {
      throw Error(ErrorKind::kBadInput, "unscripted training: " + key);
    }
    LoggedRun run;
    run.header = {{"flags", key}};
    for (long s = 1; s <= 3; ++s) {
      LoggedStep step;
      step.step = s;
      step.loss = 1.0 / static_cast<double>(s);
      run.steps.push_back(step);
    }
    run.evals.push_back({0, 3, 0.4, std::nullopt});
    run.end = LoggedEnd{0, "completed", ""};
    return run;
  }
  Diagnoser diagnoser() {
    return [this](const LoggedRun& run) {
      return Diagnosis{outcomes.at(run.header.at("flags").get<std::string>())};
    };
  }
  long count(std::string_view kind) const {
    long n = 0;
    for (const std::string& call : calls) n += call.starts_with(kind) ? 1 : 0;
    return n;
  }
};

const Flags kDeepSigmoid = {"--depth", "20", "--act", "sigmoid", "--width", "64"};
const Prescription kRelu = {"ReLU with He init", {"--act", "relu", "--init", "he"}};
const Prescription kResidual = {"residual connections", {"--residual"}};
const Prescription kLayerNorm = {"layer normalisation", {"--norm", "layer"}};

TEST(Repair, HealthyBeforeChangesNothing) {
  ScriptedRunner runner;
  runner.outcomes[join_flags(kDeepSigmoid)] = {};
  const RepairReport report = repair(kDeepSigmoid, runner, RepairBudget{}, runner.diagnoser());
  EXPECT_TRUE(report.healthy_before());
  EXPECT_TRUE(report.ok());
  EXPECT_FALSE(report.fixed);
  EXPECT_TRUE(report.candidates.empty());
  EXPECT_TRUE(report.fix.empty());
  EXPECT_EQ(runner.calls, std::vector<std::string>{"train " + join_flags(kDeepSigmoid)});
  EXPECT_DOUBLE_EQ(*report.before.final_loss, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*report.before.test_loss, 0.4);
  EXPECT_EQ(report.before.status, "completed");
}

TEST(Repair, FirstPrescriptionFixes) {
  ScriptedRunner runner;
  const Flags fixed = {"--depth", "20", "--act", "relu", "--width", "64", "--init", "he"};
  runner.outcomes[join_flags(kDeepSigmoid)] = {
      finding(kVanishingGradient, {kRelu, kResidual, kLayerNorm})};
  runner.outcomes[join_flags(fixed)] = {};
  runner.probes[join_flags(kDeepSigmoid)] = mlp_probe({1e-12, 1e-6, 1.0});
  runner.probes[join_flags(fixed)] = mlp_probe({0.9, 1.0, 1.0});

  const RepairReport report = repair(kDeepSigmoid, runner, RepairBudget{}, runner.diagnoser());
  EXPECT_FALSE(report.healthy_before());
  EXPECT_TRUE(report.fixed);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.fixed_flags, fixed);
  EXPECT_EQ(report.fix, (Flags{"--act", "relu", "--init", "he"}));
  ASSERT_EQ(report.candidates.size(), 1U);
  const RepairTrial& trial = report.candidates[0];
  EXPECT_EQ(trial.check, CheapCheck::kImproved);
  EXPECT_NEAR(*trial.measure_before, 12.0, 1e-9);
  EXPECT_NEAR(*trial.measure_after, std::log10(1.0 / 0.9), 1e-9);
  EXPECT_EQ(trial.target, kVanishingGradient);
  EXPECT_EQ(trial.advice, kRelu.advice);
  EXPECT_TRUE(trial.healthy());
  // The cheap check comes before the training run it saves.
  EXPECT_EQ(runner.calls,
            (std::vector<std::string>{"train " + join_flags(kDeepSigmoid),
                                      "probe " + join_flags(kDeepSigmoid),
                                      "probe " + join_flags(fixed), "train " + join_flags(fixed)}));
}

TEST(Repair, FirstFailsCheapCheckSecondFixes) {
  ScriptedRunner runner;
  const Prescription xavier = {"Xavier normal init", {"--init", "xavier_normal"}};
  const Flags first = apply_flags(kDeepSigmoid, xavier.flags);
  const Flags second = apply_flags(kDeepSigmoid, kResidual.flags);
  runner.outcomes[join_flags(kDeepSigmoid)] = {
      finding(kVanishingGradient, {xavier, kResidual, kLayerNorm})};
  runner.outcomes[join_flags(second)] = {};
  runner.probes[join_flags(kDeepSigmoid)] = mlp_probe({1e-12, 1.0});
  runner.probes[join_flags(first)] = mlp_probe({std::pow(10.0, -11.5), 1.0});  // half a decade
  runner.probes[join_flags(second)] = mlp_probe({0.1, 1.0});

  const RepairReport report = repair(kDeepSigmoid, runner, RepairBudget{}, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 2U);
  EXPECT_EQ(report.candidates[0].check, CheapCheck::kNotImproved);
  EXPECT_FALSE(report.candidates[0].trained);
  EXPECT_FALSE(report.candidates[0].healthy());
  EXPECT_EQ(report.candidates[1].check, CheapCheck::kImproved);
  EXPECT_TRUE(report.candidates[1].healthy());
  EXPECT_TRUE(report.fixed);
  EXPECT_EQ(report.fixed_flags, second);
  EXPECT_EQ(report.fix, Flags{"--residual"});
  EXPECT_EQ(runner.count("train"), 2);  // before, and the second candidate only
}

TEST(Repair, NothingFixesWithinBudgetIsReportedAsNotFixed) {
  ScriptedRunner runner;
  const Flags relu = apply_flags(kDeepSigmoid, kRelu.flags);
  const Flags residual = apply_flags(kDeepSigmoid, kResidual.flags);
  const Finding still = finding(kVanishingGradient, {kRelu, kResidual, kLayerNorm});
  runner.outcomes[join_flags(kDeepSigmoid)] = {still};
  runner.outcomes[join_flags(relu)] = {still};
  runner.outcomes[join_flags(residual)] = {still};
  runner.probes[join_flags(kDeepSigmoid)] = mlp_probe({1e-12, 1.0});
  runner.probes[join_flags(relu)] = mlp_probe({0.5, 1.0});
  runner.probes[join_flags(residual)] = mlp_probe({0.5, 1.0});

  RepairBudget budget;
  budget.max_candidates = 2;
  const RepairReport report = repair(kDeepSigmoid, runner, budget, runner.diagnoser());
  EXPECT_FALSE(report.fixed);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.fixed_flags.empty());
  ASSERT_EQ(report.candidates.size(), 2U);  // layer norm is left untried
  for (const RepairTrial& trial : report.candidates) {
    EXPECT_TRUE(trial.trained);
    EXPECT_FALSE(trial.healthy());
    ASSERT_EQ(trial.diagnosis.findings.size(), 1U);
    EXPECT_EQ(trial.diagnosis.findings[0].code, kVanishingGradient);
  }
  const nlohmann::json json = to_json(report);
  EXPECT_FALSE(json["fixed"].get<bool>());
  EXPECT_EQ(json["candidates"].size(), 2U);
  EXPECT_EQ(json["candidates"][0]["cheap_check"], "improved");
  EXPECT_EQ(json["candidates"][0]["findings"][0]["code"], kVanishingGradient);
  EXPECT_TRUE(json["before"]["cheap_check"].is_null());
}

TEST(Repair, TrainingBudgetLimitsTrainingRuns) {
  ScriptedRunner runner;
  const Finding still = finding(kVanishingGradient, {kRelu, kResidual, kLayerNorm});
  runner.outcomes[join_flags(kDeepSigmoid)] = {still};
  runner.outcomes[join_flags(apply_flags(kDeepSigmoid, kRelu.flags))] = {still};
  runner.probes[join_flags(kDeepSigmoid)] = mlp_probe({1e-12, 1.0});
  runner.probes[join_flags(apply_flags(kDeepSigmoid, kRelu.flags))] = mlp_probe({1.0, 1.0});
  runner.probes[join_flags(apply_flags(kDeepSigmoid, kResidual.flags))] = mlp_probe({1.0, 1.0});
  RepairBudget budget;
  budget.max_candidates = 2;
  budget.max_trainings = 1;
  const RepairReport report = repair(kDeepSigmoid, runner, budget, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 2U);
  EXPECT_TRUE(report.candidates[0].trained);
  EXPECT_EQ(report.candidates[1].check, CheapCheck::kImproved);
  EXPECT_FALSE(report.candidates[1].trained);  // passed the cheap check, no training left
  EXPECT_EQ(runner.count("train"), 2);
}

TEST(Repair, ClippingIsJudgedByTrainingNotByTheProbe) {
  ScriptedRunner runner;
  const Flags rnn = {"--model", "rnn", "--rho", "1.5"};
  const Flags clipped = {"--model", "rnn", "--rho", "1.5", "--clip", "1"};
  runner.outcomes[join_flags(rnn)] = {
      finding(kExplodingGradient, {{"clip the gradient norm", {"--clip", "1"}}})};
  runner.outcomes[join_flags(clipped)] = {};
  const RepairReport report = repair(rnn, runner, RepairBudget{}, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 1U);
  EXPECT_EQ(report.candidates[0].check, CheapCheck::kNotVisible);
  EXPECT_TRUE(report.fixed);
  EXPECT_EQ(report.fix, (Flags{"--clip", "1"}));
  EXPECT_EQ(runner.count("probe"), 0);
}

TEST(Repair, GatedCellIsDeferredToTraining) {
  ScriptedRunner runner;
  const Flags rnn = {"--model", "rnn", "--task", "adding", "--seq", "100"};
  const Flags lstm = {"--model", "lstm", "--task", "adding", "--seq", "100"};
  runner.outcomes[join_flags(rnn)] = {
      finding(kVanishingThroughTime, {{"an LSTM's cell keeps the gradient", {"--model", "lstm"}}})};
  runner.outcomes[join_flags(lstm)] = {};
  // At initialisation the LSTM's gradient through time vanishes as fast as the RNN's.
  runner.probes[join_flags(rnn)] = rnn_probe({1e-20, 1e-10, 1.0});
  runner.probes[join_flags(lstm)] = rnn_probe({1e-21, 1e-10, 1.0});
  const RepairReport report = repair(rnn, runner, RepairBudget{}, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 1U);
  EXPECT_EQ(report.candidates[0].check, CheapCheck::kDeferred);
  EXPECT_NEAR(*report.candidates[0].measure_before, 20.0, 1e-9);
  EXPECT_NEAR(*report.candidates[0].measure_after, 21.0, 1e-9);
  EXPECT_TRUE(report.fixed);
  EXPECT_EQ(report.fix, (Flags{"--model", "lstm"}));
}

TEST(Repair, CombinesAFixWithTheNextFindingsPrescription) {
  ScriptedRunner runner;
  const Flags rnn = {"--model", "rnn", "--rho", "1.5"};
  const Flags clip1 = {"--model", "rnn", "--rho", "1.5", "--clip", "1"};
  const Flags clip10 = {"--model", "rnn", "--rho", "1.5", "--clip", "10"};
  runner.outcomes[join_flags(rnn)] = {finding(kExplodingGradient, {{"clip", {"--clip", "1"}}})};
  runner.outcomes[join_flags(clip1)] = {
      finding(kClippingAlwaysActive, {{"a looser clip", {"--clip", "10"}}})};
  runner.outcomes[join_flags(clip10)] = {};
  const RepairReport report = repair(rnn, runner, RepairBudget{}, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 2U);
  EXPECT_EQ(report.candidates[1].target, kClippingAlwaysActive);
  EXPECT_TRUE(report.fixed);
  EXPECT_EQ(report.fixed_flags, clip10);
  EXPECT_EQ(report.fix, (Flags{"--clip", "10"}));

  RepairBudget no_combining;
  no_combining.combine = false;
  ScriptedRunner again = runner;
  EXPECT_FALSE(repair(rnn, again, no_combining, again.diagnoser()).fixed);
}

TEST(Repair, ACandidateAlreadyTriedIsSkippedWithoutCounting) {
  ScriptedRunner runner;
  const Flags relu = {"--depth", "20", "--act", "relu"};
  runner.outcomes[join_flags(relu)] = {
      finding(kDyingRelu, {{"keep", {"--act", "relu"}}, {"leaky", {"--act", "leaky_relu"}}})};
  runner.outcomes[join_flags(Flags{"--depth", "20", "--act", "leaky_relu"})] = {};
  runner.probes[join_flags(relu)] = mlp_probe({1.0, 1.0});
  runner.probes[join_flags(Flags{"--depth", "20", "--act", "leaky_relu"})] = mlp_probe({1.0, 1.0});
  RepairBudget budget;
  budget.max_candidates = 1;
  const RepairReport report = repair(relu, runner, budget, runner.diagnoser());
  ASSERT_EQ(report.candidates.size(), 1U);
  EXPECT_EQ(report.candidates[0].flags, (Flags{"--depth", "20", "--act", "leaky_relu"}));
  EXPECT_TRUE(report.fixed);
}

TEST(Repair, BadFlagsPropagateFromTheRunner) {
  ScriptedRunner runner;  // nothing scripted: training refuses the flags
  EXPECT_THROW((void)repair({"--depth", "-3"}, runner, RepairBudget{}, runner.diagnoser()), Error);
}

TEST(ApplyFlags, ReplacesAnEarlierValueInPlace) {
  EXPECT_EQ(apply_flags({"--act", "sigmoid", "--depth", "20"}, {"--act", "relu"}),
            (Flags{"--act", "relu", "--depth", "20"}));
  EXPECT_EQ(apply_flags({"--act=sigmoid", "--depth", "20"}, {"--act", "relu"}),
            (Flags{"--act", "relu", "--depth", "20"}));
  EXPECT_EQ(apply_flags({"--clip", "1"}, {"--clip=5"}), Flags{"--clip=5"});
}

TEST(ApplyFlags, AddsNewOptionsAtTheEnd) {
  EXPECT_EQ(apply_flags({"--depth", "20"}, {"--norm", "layer", "--lr", "1e-4"}),
            (Flags{"--depth", "20", "--norm", "layer", "--lr", "1e-4"}));
  EXPECT_EQ(apply_flags({}, {"--clip", "1"}), (Flags{"--clip", "1"}));
}

TEST(ApplyFlags, FlagsWithoutValues) {
  EXPECT_EQ(apply_flags({"--depth", "20"}, {"--residual"}), (Flags{"--depth", "20", "--residual"}));
  EXPECT_EQ(apply_flags({"--residual", "--depth", "20"}, {"--residual"}),
            (Flags{"--residual", "--depth", "20"}));
  EXPECT_EQ(apply_flags({"--residual", "--depth", "20"}, {"--residual", "--norm", "layer"}),
            (Flags{"--residual", "--depth", "20", "--norm", "layer"}));
}

TEST(ApplyFlags, DropsRepeatsOfAReplacedOption) {
  EXPECT_EQ(apply_flags({"--lr", "1", "--depth", "3", "--lr", "2"}, {"--lr", "1e-3"}),
            (Flags{"--lr", "1e-3", "--depth", "3"}));
}

TEST(ApplyFlags, NegativeNumbersAreValues) {
  EXPECT_EQ(apply_flags({"--negative-slope", "-0.1", "--act", "leaky_relu"}, {"--act", "gelu"}),
            (Flags{"--negative-slope", "-0.1", "--act", "gelu"}));
}

TEST(ApplyFlags, NonGaussianInitDropsTheGaussianVariances) {
  EXPECT_EQ(
      apply_flags({"--act", "tanh", "--sigma-w2", "4", "--sigma-b2", "0.1"}, {"--init", "he"}),
      (Flags{"--act", "tanh", "--init", "he"}));
  EXPECT_EQ(apply_flags({"--sigma-w2", "4"}, {"--init", "gaussian"}),
            (Flags{"--sigma-w2", "4", "--init", "gaussian"}));
}

TEST(ApplyFlags, ModelFlagsDropTrainingOptions) {
  EXPECT_EQ(model_flags({"--model", "rnn", "--clip", "1", "--lr=0.1", "--nesterov", "--rho", "1.5",
                         "--steps", "300"}),
            (Flags{"--model", "rnn", "--rho", "1.5"}));
  EXPECT_TRUE(is_training_option("--clip"));
  EXPECT_FALSE(is_training_option("--residual"));
}

TEST(ApplyFlags, JoinQuotesOnlyWhatTheShellWouldSplit) {
  EXPECT_EQ(join_flags({"--lr", "1e-4", "--log", "/tmp/a b.jsonl", "--x", "it's"}),
            "--lr 1e-4 --log '/tmp/a b.jsonl' --x 'it'\\''s'");
}

TEST(ProfileMeasure, DecadesFromLayersOrTimeSteps) {
  const std::optional<ProfileMeasure> depth =
      profile_measure(mlp_probe({1e-8, 1e-3, 1.0}), kVanishingGradient);
  ASSERT_TRUE(depth);
  EXPECT_EQ(depth->name, "decades");
  EXPECT_NEAR(depth->value, 8.0, 1e-9);
  const std::optional<ProfileMeasure> time =
      profile_measure(rnn_probe({300.0, 1.0}), kExplodingGradient);
  ASSERT_TRUE(time);
  EXPECT_NEAR(time->value, std::log10(300.0), 1e-9);
  const std::optional<ProfileMeasure> overflow =
      profile_measure(rnn_probe({INFINITY, 1.0}), kExplodingGradient);
  ASSERT_TRUE(overflow);
  EXPECT_TRUE(std::isinf(overflow->value));
  EXPECT_FALSE(profile_measure(mlp_probe({1.0, 1.0}), kClippingAlwaysActive));
  EXPECT_FALSE(profile_measure(LoggedRun{}, kVanishingGradient));
}

TEST(ProfileMeasure, FractionsForSaturationAndDeadUnits) {
  LoggedRun probe = mlp_probe({1.0, 1.0, 1.0});
  probe.steps[0].layers[1].saturated = 0.8;
  probe.steps[0].layers[2].dead = 0.4;
  EXPECT_NEAR(profile_measure(probe, kSaturation)->value, 0.8, 1e-12);
  EXPECT_NEAR(profile_measure(probe, kDyingRelu)->value, 0.4, 1e-12);
}

}  // namespace
}  // namespace gradscope
