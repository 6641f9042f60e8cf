// Each doctor rule on hand-made logs (parse_run_log on strings): it fires on its pathology,
// stays silent on a healthy profile, and handles the edge cases (a gradient problem in a run
// whose loss still improves is still reported; a transient is not; logs without model details).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gradscope/doctor/finding.hpp"
#include "gradscope/doctor/rules.hpp"
#include "gradscope/probe/run_log_reader.hpp"

namespace gradscope {
namespace {

using nlohmann::json;

// A feed-forward run: `depth` layers (the last linear), every quantity a function of the layer
// (1-based) and the step.
struct MlpLog {
  int depth = 10;
  std::string act = "relu";
  std::string model = "mlp";  // "torch": a header without model details
  int steps = 100;
  int probe_every = 10;
  double lr = 1e-3;
  std::optional<double> clip;
  std::function<double(int, int)> grad = [](int, int) { return 0.01; };
  std::function<double(int, int)> rel = [](int, int step) { return 0.001 * step; };
  std::function<double(int, int)> saturated = [](int, int) { return 0.0; };
  std::function<double(int, int)> dead = [](int, int) { return 0.0; };
  std::function<double(int)> loss = [](int step) { return 1.0 / (1.0 + 0.05 * step); };
  std::function<double(int)> grad_norm = [](int) { return 1.0; };
  std::function<bool(int)> clipped = [](int) { return false; };
  int nonfinite_step = 0;  // 0: never
  std::string first_nonfinite;
};

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::string text(const MlpLog& p) {
  json layers = json::array();
  for (int l = 1; l <= p.depth; ++l) {
    layers.push_back({{"index", l},
                      {"name", std::to_string(2 * (l - 1))},
                      {"kind", "dense"},
                      {"activation", l == p.depth ? "identity" : p.act}});
  }
  json model = p.model == "torch"
                   ? json{{"model", "torch"}}
                   : json{{"model", "mlp"},           {"depth", p.depth},  {"act", p.act},
                          {"init", "xavier_uniform"}, {"residual", false}, {"norm", "none"}};
  json header = {
      {"type", "header"},
      {"schema", 1},
      {"model", model},
      {"train",
       {{"steps", p.steps}, {"lr", p.lr}, {"clip", p.clip ? json(*p.clip) : json(nullptr)}}},
      {"task", {{"name", "teacher"}, {"loss", "mse"}}},
      {"layers", layers}};
  std::string out = header.dump() + "\n";
  for (int s = 1; s <= p.steps; ++s) {
    const bool bad = p.nonfinite_step != 0 && s >= p.nonfinite_step;
    json step = {{"type", "step"},
                 {"step", s},
                 {"loss", bad ? json(nullptr) : number_or_null(p.loss(s))},
                 {"grad_norm", bad ? json(nullptr) : number_or_null(p.grad_norm(s))},
                 {"clipped", p.clipped(s)},
                 {"skipped", bad},
                 {"lr", p.lr},
                 {"nonfinite", {{"loss", bad}, {"grad", bad}, {"weight", false}}}};
    if (bad) step["first_nonfinite"] = p.first_nonfinite;
    if (s == 1 || s % p.probe_every == 0 || s == p.steps) {
      json records = json::array();
      for (int l = 1; l <= p.depth; ++l) {
        records.push_back({{"index", l},
                           {"name", std::to_string(2 * (l - 1))},
                           {"kind", "dense"},
                           {"activation", l == p.depth ? "identity" : p.act},
                           {"grad_norm", bad ? json(nullptr) : number_or_null(p.grad(l, s))},
                           {"rel_dist_init", p.rel(l, s)},
                           {"saturated", l == p.depth ? 0.0 : p.saturated(l, s)},
                           {"dead", l == p.depth ? 0.0 : p.dead(l, s)},
                           {"nonfinite", bad && l >= 3}});
      }
      step["layers"] = records;
    }
    out += step.dump() + "\n";
  }
  return out;
}

LoggedRun run_of(const std::string& log) {
  RunLogFile file = parse_run_log(log, "test.jsonl");
  EXPECT_EQ(file.runs.size(), 1u);
  return file.runs.at(0);
}

LoggedRun run_of(const MlpLog& p) { return run_of(text(p)); }

// A recurrent run: one tanh RNN layer and a head; the per-step gradient a function of the time
// step t (1..T) and the training step.
struct RnnLog {
  int seq = 100;
  int steps = 100;
  int probe_every = 10;
  std::optional<double> clip;
  std::function<double(int, int)> time_grad = [](int, int) { return 0.01; };
  std::function<double(int)> loss = [](int) { return 0.17; };
  std::optional<double> eval_loss;
};

std::string text(const RnnLog& p) {
  json header = {
      {"type", "header"},
      {"schema", 1},
      {"model",
       {{"model", "rnn"},
        {"cell", "rnn_tanh"},
        {"hidden", 16},
        {"seq", p.seq},
        {"tbptt", 0},
        {"init", "default"}}},
      {"train", {{"lr", 1e-3}, {"clip", p.clip ? json(*p.clip) : json(nullptr)}}},
      {"task", {{"name", "adding"}, {"seq", p.seq}, {"loss", "mse"}, {"baseline_loss", 1.0 / 6}}},
      {"layers",
       {{{"index", 1}, {"name", "rnn.weight_hh_l0"}, {"kind", "rnn_tanh"}, {"activation", "tanh"}},
        {{"index", 2}, {"name", "head.weight"}, {"kind", "dense"}, {"activation", "identity"}}}}};
  std::string out = header.dump() + "\n";
  for (int s = 1; s <= p.steps; ++s) {
    json step = {
        {"type", "step"},    {"step", s},
        {"loss", p.loss(s)}, {"grad_norm", 1.0},
        {"clipped", false},  {"skipped", false},
        {"lr", 1e-3},        {"nonfinite", {{"loss", false}, {"grad", false}, {"weight", false}}}};
    if (s == 1 || s % p.probe_every == 0 || s == p.steps) {
      json curve = json::array();
      for (int t = 1; t <= p.seq; ++t) curve.push_back(p.time_grad(t, s));
      step["layers"] = {{{"index", 1},
                         {"name", "rnn.weight_hh_l0"},
                         {"kind", "rnn_tanh"},
                         {"activation", "tanh"},
                         {"grad_norm", 0.001},
                         {"saturated", 0.0},
                         {"dead", 0.0}},
                        {{"index", 2},
                         {"name", "head.weight"},
                         {"kind", "dense"},
                         {"activation", "identity"},
                         {"grad_norm", 0.05},
                         {"saturated", 0.0},
                         {"dead", 0.0}}};
      step["time_steps"] = {{{"layer", 0}, {"grad_norm", curve}}};
    }
    out += step.dump() + "\n";
  }
  if (p.eval_loss) out += json{{"type", "eval"}, {"step", p.steps}, {"loss", *p.eval_loss}}.dump();
  return out + "\n";
}

LoggedRun run_of(const RnnLog& p) { return run_of(text(p)); }

// Gradient that falls `decades_per_layer` per layer from the output back to layer 1.
std::function<double(int, int)> geometric(int depth, double decades_per_layer) {
  return
      [=](int layer, int) { return 0.02 * std::pow(10.0, -decades_per_layer * (depth - layer)); };
}

// --- vanishing_gradient --------------------------------------------------------------------

TEST(VanishingGradientRule, FiresOnAGeometricDropWithDepth) {
  MlpLog p;
  p.act = "sigmoid";
  p.depth = 20;
  p.grad = geometric(20, 0.6);                                     // 11.4 decades
  p.rel = [](int layer, int) { return layer <= 5 ? 1e-7 : 0.1; };  // early layers stay at init
  p.loss = [](int) { return 1.0; };                                // flat
  const auto f = doctor::vanishing_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "vanishing_gradient");
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_NEAR(f->evidence_data["slope_decades_per_layer"].get<double>(), 0.6, 1e-9);
  EXPECT_NEAR(f->evidence_data["decades"].get<double>(), 11.4, 1e-9);
  EXPECT_TRUE(f->evidence_data["near_init"].get<bool>());
  EXPECT_TRUE(f->evidence_data["loss_flat"].get<bool>());
  ASSERT_FALSE(f->prescriptions.empty());
  EXPECT_EQ(f->prescriptions[0].flags, (std::vector<std::string>{"--act", "relu", "--init", "he"}));
}

TEST(VanishingGradientRule, ReportedEvenWhenTheLossStillImproves) {
  MlpLog p;
  p.act = "tanh";
  p.grad = geometric(10, 0.45);  // 4 decades
  p.loss = [](int step) { return 2.0 / (1.0 + 0.1 * step); };
  const auto f = doctor::vanishing_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_FALSE(f->evidence_data["loss_flat"].get<bool>());
}

TEST(VanishingGradientRule, SilentOnAFlatProfileAndOnAShallowSlope) {
  MlpLog healthy;
  EXPECT_FALSE(doctor::vanishing_gradient_rule(run_of(healthy)));
  MlpLog shallow;
  shallow.grad = geometric(10, 0.2);  // 1.8 decades over 10 layers: not yet 1e-3
  EXPECT_FALSE(doctor::vanishing_gradient_rule(run_of(shallow)));
}

TEST(VanishingGradientRule, SilentOnATransientAtInitialisation) {
  MlpLog p;
  p.grad = [](int layer, int step) { return step == 1 ? 1e-9 * layer : 0.01; };
  EXPECT_FALSE(doctor::vanishing_gradient_rule(run_of(p)));
}

TEST(VanishingGradientRule, ReLUAlreadyPrescribesInitialisationFirst) {
  MlpLog p;
  p.act = "relu";
  p.depth = 40;
  p.grad = geometric(40, 0.17);
  const auto f = doctor::vanishing_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->prescriptions[0].flags, (std::vector<std::string>{"--init", "he"}));
}

// --- exploding_gradient --------------------------------------------------------------------

TEST(ExplodingGradientRule, LocalisesTheFirstNonFiniteValue) {
  MlpLog p;
  p.nonfinite_step = 57;
  p.first_nonfinite = "4.weight";
  const auto f = doctor::exploding_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "exploding_gradient");
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_EQ(f->evidence_data["first_nonfinite_step"].get<long>(), 57);
  EXPECT_EQ(f->evidence_data["first_nonfinite_parameter"].get<std::string>(), "4.weight");
  EXPECT_EQ(f->evidence_data["first_nonfinite_layer"].get<long>(), 3);  // name "4" is layer 3
  EXPECT_EQ(f->prescriptions.at(0).flags, (std::vector<std::string>{"--clip", "1"}));
}

TEST(ExplodingGradientRule, FiresOnLossDivergence) {
  MlpLog p;
  p.loss = [](int step) { return std::pow(1.2, step); };
  const auto f = doctor::exploding_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_GT(f->evidence_data["loss_last"].get<double>(),
            10 * f->evidence_data["loss_first"].get<double>());
}

TEST(ExplodingGradientRule, FiresOnGrowthTowardTheInput) {
  MlpLog p;
  p.depth = 20;
  p.grad = geometric(20, -0.2);  // grows 3.8 decades toward layer 1
  const auto f = doctor::exploding_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_NEAR(f->evidence_data["depth_growth_decades"].get<double>(), 3.8, 1e-9);
  EXPECT_EQ(f->prescriptions.at(0).flags, (std::vector<std::string>{"--init", "he"}));
}

TEST(ExplodingGradientRule, FiresOnSpikesAgainstTheRunningMedian) {
  MlpLog p;
  p.grad_norm = [](int step) { return step % 25 == 0 ? 500.0 : 1.0; };
  const auto f = doctor::exploding_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->evidence_data["spikes"].get<long>(), 4);
  EXPECT_EQ(f->evidence_data["first_spike_step"].get<long>(), 25);
}

TEST(ExplodingGradientRule, FiresOnGrowthBackThroughTime) {
  RnnLog p;
  p.seq = 50;
  p.time_grad = [](int t, int) { return 0.05 * std::pow(10.0, 0.1 * (50 - t)); };
  const auto f = doctor::exploding_gradient_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_NEAR(f->evidence_data["time_growth_decades"].get<double>(), 4.9, 1e-9);
}

TEST(ExplodingGradientRule, SilentOnAHealthyRun) {
  MlpLog p;
  p.grad_norm = [](int step) { return 1.0 + 0.5 * std::sin(step); };
  EXPECT_FALSE(doctor::exploding_gradient_rule(run_of(p)));
  EXPECT_FALSE(doctor::exploding_gradient_rule(run_of(RnnLog{})));
}

// --- vanishing_through_time ----------------------------------------------------------------

TEST(VanishingThroughTimeRule, ReportsTheEffectiveHorizon) {
  RnnLog p;
  p.seq = 100;
  p.time_grad = [](int t, int) { return 0.05 * std::pow(10.0, -0.25 * (100 - t)); };
  const auto f = doctor::vanishing_through_time_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "vanishing_through_time");
  EXPECT_EQ(f->severity, Severity::kCritical);
  // 1e-6 is reached 24.x steps back: the first value below it is 25 steps back.
  EXPECT_EQ(f->evidence_data["horizon"].get<long>(), 25);
  EXPECT_EQ(f->evidence_data["seq"].get<long>(), 100);
  EXPECT_NEAR(f->evidence_data["decades_per_step"].get<double>(), 0.25, 1e-9);
  EXPECT_EQ(f->prescriptions.at(0).flags.at(1), "lstm");
}

TEST(VanishingThroughTimeRule, SilentWhenTheGradientReachesTheFirstStep) {
  RnnLog p;
  p.time_grad = [](int t, int) { return 0.05 * std::pow(10.0, -0.04 * (100 - t)); };  // 4 decades
  EXPECT_FALSE(doctor::vanishing_through_time_rule(run_of(p)));
  EXPECT_FALSE(doctor::vanishing_through_time_rule(run_of(MlpLog{})));  // no time steps at all
}

TEST(SequenceLengthRule, ShortLearnsLongPlateaus) {
  RnnLog short_run;
  short_run.seq = 5;
  short_run.eval_loss = 0.004;
  RnnLog long_run;
  long_run.seq = 50;
  long_run.eval_loss = 0.17;
  std::vector<LoggedRun> runs = {run_of(short_run), run_of(long_run)};
  const std::vector<Finding> findings = doctor::sequence_length_rule(runs);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].run, 1);
  EXPECT_EQ(findings[0].evidence_data["learned_seq"].get<long>(), 5);
  EXPECT_EQ(findings[0].evidence_data["plateau_seq"].get<long>(), 50);
  // Both learned: nothing to say.
  long_run.eval_loss = 0.01;
  runs = {run_of(short_run), run_of(long_run)};
  EXPECT_TRUE(doctor::sequence_length_rule(runs).empty());
}

// --- saturation, dying ReLU, clipping ------------------------------------------------------

TEST(SaturationRule, FiresWhenUnitsArePinned) {
  MlpLog p;
  p.act = "tanh";
  p.saturated = [](int layer, int) { return layer == 2 ? 0.8 : 0.5; };
  const auto f = doctor::saturation_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "saturation");
  EXPECT_EQ(f->evidence_data["worst_layer"].get<long>(), 2);
  p.saturated = [](int, int) { return 0.05; };
  EXPECT_FALSE(doctor::saturation_rule(run_of(p)));
}

TEST(DyingReluRule, FiresWhenMostLayersDieAndSilentOnHealthyDeadFractions) {
  MlpLog p;
  p.dead = [](int, int step) { return step > 20 ? 0.8 : 0.1; };
  auto f = doctor::dying_relu_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "dying_relu");
  EXPECT_EQ(f->severity, Severity::kWarning);
  EXPECT_EQ(f->evidence_data["onset_step"].get<long>(), 30);
  p.dead = [](int layer, int) { return layer == 4 ? 1.0 : 0.1; };  // one layer entirely dead
  f = doctor::dying_relu_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->severity, Severity::kCritical);
  p.dead = [](int, int) { return 0.4; };  // ordinary for narrow ReLU layers
  EXPECT_FALSE(doctor::dying_relu_rule(run_of(p)));
  p.act = "tanh";
  p.dead = [](int, int) { return 0.9; };  // not a ReLU: `dead` is not read
  EXPECT_FALSE(doctor::dying_relu_rule(run_of(p)));
}

TEST(ClippingAlwaysActiveRule, FiresWhenTheThresholdIsFarBelowTheTypicalNorm) {
  MlpLog p;
  p.clip = 0.001;
  p.clipped = [](int) { return true; };
  auto f = doctor::clipping_always_active_rule(run_of(p));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "clipping_always_active");
  EXPECT_NEAR(f->evidence_data["shrink"].get<double>(), 1000.0, 1e-6);
  EXPECT_EQ(f->prescriptions.at(0).flags, (std::vector<std::string>{"--clip", "2"}));
  p.clip = 0.5;  // always active but only 2x below: a deliberate choice, not a hidden lr cut
  EXPECT_FALSE(doctor::clipping_always_active_rule(run_of(p)));
  p.clip = 0.001;
  p.clipped = [](int step) { return step % 3 == 0; };
  EXPECT_FALSE(doctor::clipping_always_active_rule(run_of(p)));
}

// --- diagnose, ranking, other writers, the baseline ----------------------------------------

TEST(Diagnose, HealthyRunsHaveNoFindings) {
  EXPECT_TRUE(diagnose({run_of(MlpLog{})}).healthy());
  RnnLog rnn;
  rnn.time_grad = [](int t, int) { return 0.05 * std::pow(10.0, -0.02 * (100 - t)); };
  EXPECT_TRUE(diagnose({run_of(rnn)}).healthy());
}

TEST(Diagnose, ExplodingIsPrimaryOverItsSymptoms) {
  MlpLog p;
  p.act = "tanh";
  p.depth = 20;
  p.grad = geometric(20, -0.2);
  p.saturated = [](int, int) { return 0.45; };
  const Diagnosis d = diagnose({run_of(p)});
  ASSERT_EQ(d.findings.size(), 2u);
  EXPECT_EQ(d.findings[0].code, "exploding_gradient");
  EXPECT_EQ(d.findings[1].code, "saturation");
  const json j = to_json(d.findings[0]);
  EXPECT_EQ(j["severity"], "warning");
  EXPECT_TRUE(j["evidence"].is_array());
  EXPECT_TRUE(j["data"].is_object());
  EXPECT_TRUE(j["prescriptions"][0]["flags"].is_array());
}

TEST(Diagnose, ReadsLogsWithoutModelDetailsAndDamagedLines) {
  MlpLog p;
  p.model = "torch";
  p.act = "sigmoid";
  p.grad = geometric(10, 0.7);
  std::string log = text(p);
  log += "{\"type\":\"step\",\"step\":101,\"loss\":0.5,\"gra";  // a killed writer
  RunLogFile file = parse_run_log(log, "torch.jsonl");
  ASSERT_EQ(file.runs.size(), 1u);
  EXPECT_FALSE(file.issues.empty());
  const Diagnosis d = diagnose(file.runs);
  ASSERT_FALSE(d.healthy());
  EXPECT_EQ(d.findings[0].code, "vanishing_gradient");
  // The activation comes from the layer table when the header has none.
  EXPECT_EQ(d.findings[0].prescriptions.at(0).flags.at(1), "relu");
}

TEST(Autotrainer, PublishedRules) {
  MlpLog vanishing;
  vanishing.grad = geometric(10, 0.5);  // ratio 1e-4.5, first 6e-7
  Diagnosis d = diagnose_autotrainer({run_of(vanishing)});
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].code, "vanishing_gradient");
  MlpLog exploding;
  exploding.grad = geometric(10, -0.25);  // ratio 10^2.25 > 70
  d = diagnose_autotrainer({run_of(exploding)});
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].code, "exploding_gradient");
  MlpLog dying;
  dying.dead = [](int layer, int) { return layer == 3 ? 0.75 : 0.0; };
  d = diagnose_autotrainer({run_of(dying)});
  ASSERT_EQ(d.findings.size(), 1u);
  EXPECT_EQ(d.findings[0].code, "dying_relu");
  EXPECT_TRUE(diagnose_autotrainer({run_of(MlpLog{})}).healthy());
}

}  // namespace
}  // namespace gradscope
