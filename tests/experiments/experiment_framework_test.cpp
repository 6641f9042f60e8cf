// The experiment framework: verdicts and their JSON, data tables, figure specs, the registry,
// and the run folder written through temporary files and renames.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "gradscope/core/error.hpp"
#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/registry.hpp"
#include "gradscope/experiments/run_directory.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

namespace fs = std::filesystem;

// Everything in `dir`, recursively, as relative paths: to spot leftover temporary files.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool has_temporary(const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [](const std::string& name) {
    return name.find(".tmp-") != std::string::npos;
  });
}

// A tiny experiment whose outcome the test decides.
class FakeExperiment final : public Experiment {
 public:
  FakeExperiment(std::string name, double measured, bool throws = false)
      : name_(std::move(name)), measured_(measured), throws_(throws) {}
  std::string name() const override { return name_; }
  std::string title() const override { return "A fake"; }
  std::string claim() const override { return "x is 1"; }
  std::string source() const override { return "this test"; }
  ExperimentResult run(const ExperimentContext& context) const override {
    context.report_progress(0, 1);
    if (throws_) throw Error(ErrorKind::kRuntime, "the fake failed");
    ExperimentResult result;
    result.settings = {{"quick", context.quick}, {"seed", context.seed}};
    result.verdicts.push_back(verdict_within("x", "x is 1", measured_, 1.0, 0.1, "units"));
    DataTable table("points", {"series", "x", "y"});
    table.add_row({"a", 1, 2.0});
    table.add_row({"b, \"quoted\"", 2, 3.0});
    figure::LineChart chart;
    chart.x = {"x", "x"};
    chart.y = {"y", "y", true};
    chart.series = "series";
    result.figures.push_back({"line", "a line", figure::line_chart(table, chart)});
    result.tables.push_back(std::move(table));
    context.report_progress(1, 1);
    return result;
  }

 private:
  std::string name_;
  double measured_;
  bool throws_;
};

TEST(Verdict, ComparisonsDecidePass) {
  EXPECT_TRUE(verdict_within("a", "c", 1.05, 1.0, 0.1, "u").pass);
  EXPECT_FALSE(verdict_within("a", "c", 1.2, 1.0, 0.1, "u").pass);
  EXPECT_TRUE(verdict_at_most("a", "c", 0.5, 1.0, 0.0, "u").pass);
  EXPECT_FALSE(verdict_at_most("a", "c", 1.5, 1.0, 0.1, "u").pass);
  EXPECT_TRUE(verdict_at_least("a", "c", 0.95, 1.0, 0.1, "u").pass);
  EXPECT_FALSE(verdict_at_least("a", "c", 0.5, 1.0, 0.1, "u").pass);
}

TEST(Verdict, NonFiniteMeasurementFailsAndIsNullInJson) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Verdict v = verdict_at_most("a", "c", nan, 1.0, 0.0, "u");
  EXPECT_FALSE(v.pass);
  EXPECT_TRUE(to_json(v, "e")["measured"].is_null());
  EXPECT_FALSE(verdict_within("a", "c", std::numeric_limits<double>::infinity(), 1, 1e9, "").pass);
}

TEST(Verdict, JsonHasTheDocumentedFields) {
  const nlohmann::json j =
      to_json(verdict_within("slope", "the claim", 0.5, 0.25, 0.5, "decades"), "three-regimes");
  for (const char* key : {"experiment", "name", "claim", "measured", "expected", "tolerance",
                          "comparison", "units", "pass"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 9u);
  EXPECT_EQ(j["experiment"], "three-regimes");
  EXPECT_EQ(j["name"], "slope");
  EXPECT_EQ(j["measured"], 0.5);
  EXPECT_EQ(j["expected"], 0.25);
  EXPECT_EQ(j["comparison"], "within");
  EXPECT_EQ(j["pass"], true);
}

TEST(DataTable, CsvQuotesWhatNeedsItAndWritesNonFiniteEmpty) {
  DataTable table("t", {"name", "value"});
  table.add_row({"plain", 1.5});
  table.add_row({"with, comma \"and quotes\"", std::numeric_limits<double>::infinity()});
  EXPECT_EQ(table.csv(), "name,value\nplain,1.5\n\"with, comma \"\"and quotes\"\"\",\n");
  const nlohmann::json records = table.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["name"], "plain");
  EXPECT_TRUE(records[1]["value"].is_null());
  EXPECT_THROW(table.add_row({1.0}), Error);
}

TEST(Figure, LineChartIsVegaLiteWithInlineDataAndLogAxis) {
  DataTable table("t", {"series", "layer", "norm"});
  for (int l = 1; l <= 3; ++l) {
    table.add_row({"a", l, std::pow(10.0, -l)});
    table.add_row({"b", l, 1.0});
  }
  figure::LineChart chart;
  chart.title = "t";
  chart.x = {"layer", "layer"};
  chart.y = {"norm", "norm", true};
  chart.series = "series";
  const nlohmann::json spec = figure::line_chart(table, chart);
  EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");
  EXPECT_EQ(spec["data"]["values"].size(), 6u);
  EXPECT_EQ(spec["encoding"]["y"]["scale"]["type"], "log");
  EXPECT_FALSE(spec["encoding"]["x"]["scale"].contains("type"));
  EXPECT_EQ(spec["encoding"]["color"]["field"], "series");
  EXPECT_EQ(spec["mark"]["type"], "line");
}

TEST(Figure, HeatMapHasRectsAndAColorScale) {
  DataTable table("t", {"w", "b", "chi"});
  table.add_row({1.0, 0.0, 0.5});
  table.add_row({2.0, 0.0, 1.5});
  figure::HeatMap map;
  map.x = {"w", "sigma_w^2"};
  map.y = {"b", "sigma_b^2"};
  map.color = {"chi", "chi_1", true};
  const nlohmann::json spec = figure::heat_map(table, map);
  EXPECT_EQ(spec["mark"], "rect");
  EXPECT_EQ(spec["encoding"]["color"]["scale"]["type"], "log");
  EXPECT_EQ(spec["encoding"]["color"]["scale"]["scheme"], "viridis");
  EXPECT_EQ(spec["encoding"]["x"]["type"], "ordinal");
}

TEST(Registry, NamesAreUniqueAndUnknownNamesListTheValidOnes) {
  const std::vector<std::string> names = experiment_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "three-regimes");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const std::string& name : names) EXPECT_EQ(make_experiment(name)->name(), name);
  try {
    make_experiment("no-such-experiment");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    const std::string message = e.what();
    EXPECT_NE(message.find("no-such-experiment"), std::string::npos);
    for (const std::string& name : names) EXPECT_NE(message.find(name), std::string::npos);
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

TEST(RunDirectory, WriteFileAtomicallyLeavesOnlyTheFile) {
  testing::TempDir dir;
  write_file_atomically(dir.path() / "a.json", "first");
  write_file_atomically(dir.path() / "a.json", "second");
  EXPECT_EQ(testing::read_file(dir / "a.json"), "second");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"a.json"});
  EXPECT_THROW(write_file_atomically(dir.path() / "missing" / "a.json", "x"), Error);
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"a.json"});
}

TEST(RunDirectory, RunWritesDataFiguresResultAndVerdicts) {
  testing::TempDir dir;
  std::vector<std::pair<long, long>> progress;
  const ExperimentRun run =
      run_experiment(FakeExperiment("fake", 1.0), dir.path(), true, 7,
                     [&](long done, long total) { progress.emplace_back(done, total); });
  EXPECT_TRUE(run.result.passed());
  EXPECT_EQ(progress.back(), std::make_pair(1L, 1L));
  EXPECT_EQ(listing(dir.path()),
            (std::vector<std::string>{"fake", "fake/line.vl.json", "fake/points.csv",
                                      "fake/points.json", "fake/result.json"}));
  const nlohmann::json result = nlohmann::json::parse(testing::read_file(dir / "fake/result.json"));
  EXPECT_EQ(result["schema"], kExperimentSchema);
  EXPECT_EQ(result["name"], "fake");
  EXPECT_EQ(result["seed"], 7);
  EXPECT_EQ(result["quick"], true);
  EXPECT_EQ(result["settings"]["seed"], 7);
  EXPECT_EQ(result["figures"][0]["spec"], "line.vl.json");
  EXPECT_EQ(result["figures"][0]["svg"], "line.svg");
  EXPECT_EQ(result["verdicts"][0]["experiment"], "fake");
  EXPECT_EQ(run.record, result);
  const nlohmann::json spec = nlohmann::json::parse(testing::read_file(dir / "fake/line.vl.json"));
  EXPECT_EQ(spec["data"]["values"].size(), 2u);
  EXPECT_EQ(testing::read_file(dir / "fake/points.csv"),
            "series,x,y\na,1,2\n\"b, \"\"quoted\"\"\",2,3\n");

  const nlohmann::json verdicts = write_verdicts(dir.path());
  EXPECT_EQ(verdicts, nlohmann::json::parse(testing::read_file(dir / "verdicts.json")));
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0]["name"], "x");
}

TEST(RunDirectory, VerdictsOfSeparateRunsAddUp) {
  testing::TempDir dir;
  run_experiment(FakeExperiment("alpha", 1.0), dir.path(), false, 0);
  run_experiment(FakeExperiment("beta", 5.0), dir.path(), false, 0);
  const nlohmann::json verdicts = write_verdicts(dir.path());
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0]["experiment"], "alpha");
  EXPECT_EQ(verdicts[0]["pass"], true);
  EXPECT_EQ(verdicts[1]["experiment"], "beta");
  EXPECT_EQ(verdicts[1]["pass"], false);
}

TEST(RunDirectory, AFailedRunKeepsThePreviousResultAndLeavesNoStaging) {
  testing::TempDir dir;
  run_experiment(FakeExperiment("fake", 1.0), dir.path(), false, 0);
  const std::string before = testing::read_file(dir / "fake/result.json");
  EXPECT_THROW(run_experiment(FakeExperiment("fake", 1.0, true), dir.path(), false, 1), Error);
  EXPECT_EQ(testing::read_file(dir / "fake/result.json"), before);
  EXPECT_FALSE(has_temporary(listing(dir.path())));
  EXPECT_EQ(listing(dir.path()).size(), 5u);
}

TEST(RunDirectory, ARerunReplacesTheFolderWhole) {
  testing::TempDir dir;
  run_experiment(FakeExperiment("fake", 1.0), dir.path(), false, 0);
  write_file_atomically(dir.path() / "fake" / "stale.svg", "<svg/>");
  run_experiment(FakeExperiment("fake", 3.0), dir.path(), false, 0);
  EXPECT_FALSE(fs::exists(dir.path() / "fake" / "stale.svg"));
  EXPECT_FALSE(has_temporary(listing(dir.path())));
  const nlohmann::json result = nlohmann::json::parse(testing::read_file(dir / "fake/result.json"));
  EXPECT_EQ(result["pass"], false);
}

TEST(RunDirectory, HostileNamesAreRefusedAsFileNames) {
  testing::TempDir dir;
  EXPECT_THROW(run_experiment(FakeExperiment("../escape", 1.0), dir.path(), false, 0), Error);
  EXPECT_THROW(
      run_experiment(FakeExperiment("</script><img onerror=alert(1)>", 1.0), dir.path(), false, 0),
      Error);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(ThreeRegimesExperiment, QuickRunPassesWithSlopesMinusLogRho) {
  testing::TempDir dir;
  const ExperimentRun run = run_experiment(*make_experiment("three-regimes"), dir.path(), true, 0);
  ASSERT_EQ(run.result.verdicts.size(), 3u);
  for (const Verdict& v : run.result.verdicts) {
    EXPECT_TRUE(v.pass) << v.name << " measured " << v.measured << " expected " << v.expected;
    EXPECT_NEAR(v.measured, v.expected, 1e-9) << v.name;
  }
  EXPECT_NEAR(run.result.verdicts[0].expected, -std::log10(0.9), 1e-15);
  ASSERT_EQ(run.result.figures.size(), 1u);
  const nlohmann::json& spec = run.result.figures[0].spec;
  EXPECT_EQ(spec["encoding"]["y"]["scale"]["type"], "log");
  // Input at the left, output at the right: the x domain runs from layer 1 up to L.
  const long depth = run.record["settings"]["depth"];
  EXPECT_EQ(spec["encoding"]["x"]["scale"]["domain"], nlohmann::json({1.0, depth}));
  EXPECT_EQ(spec["data"]["values"].size(), static_cast<std::size_t>(3 * depth));
}

TEST(SigmoidBoundExperiment, QuickRunPasses) {
  testing::TempDir dir;
  const ExperimentRun run = run_experiment(*make_experiment("sigmoid-bound"), dir.path(), true, 0);
  ASSERT_FALSE(run.result.verdicts.empty());
  for (const Verdict& v : run.result.verdicts) {
    EXPECT_TRUE(v.pass) << v.name << " measured " << v.measured << " expected " << v.expected;
  }
}

}  // namespace
}  // namespace gradscope
