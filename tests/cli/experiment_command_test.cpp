// gradscope experiment and gradscope report, end to end through the executable.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gradscope/experiments/run_directory.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

namespace fs = std::filesystem;

testing::ShellResult gradscope(const std::string& args) {
  return testing::run_shell(std::string(GRADSCOPE_CLI_PATH) + " " + args);
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Stand-ins for vega, vega-lite and vega-embed: the report is only read here, never drawn.
void write_stub_assets(const fs::path& assets) {
  for (const char* file : {"vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
                           "vega-embed/build/vega-embed.min.js"}) {
    const fs::path path = assets / "node_modules" / file;
    fs::create_directories(path.parent_path());
    write_file_atomically(path, "/* stub */");
  }
}

TEST(ExperimentCommand, ListNamesEveryExperiment) {
  const testing::ShellResult r = gradscope("experiment list --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json list = nlohmann::json::parse(r.out);
  ASSERT_GE(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "three-regimes");
  for (const nlohmann::json& e : list) {
    for (const char* key : {"name", "title", "claim", "source"}) EXPECT_TRUE(e.contains(key));
  }
}

TEST(ExperimentCommand, HelpStatesTheExitCodes) {
  const testing::ShellResult r = gradscope("experiment run --help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 when a verdict fails"), std::string::npos) << r.out;
}

TEST(ExperimentCommand, UnknownNameIsOneLineListingValidNamesAndWritesNothing) {
  testing::TempDir dir;
  const std::string out = dir / "out";
  const testing::ShellResult r =
      gradscope("experiment run three-regimes no-such-thing --quick --out " + out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("no-such-thing"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("three-regimes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sigmoid-bound"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(fs::exists(out));
}

TEST(ExperimentCommand, ThreeRegimesQuickPassesAndWritesItsFolder) {
  testing::TempDir dir;
  const std::string out = dir / "out";
  const testing::ShellResult r =
      gradscope("experiment run three-regimes --quick --seed 3 --json --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json printed = nlohmann::json::parse(r.out);
  EXPECT_EQ(printed["pass"], true);
  for (const char* file :
       {"verdicts.json", "three-regimes/result.json", "three-regimes/profiles.vl.json",
        "three-regimes/profiles.csv", "three-regimes/profiles.json", "three-regimes/slopes.csv"}) {
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / file)) << file;
  }
  const nlohmann::json verdicts = nlohmann::json::parse(testing::read_file(out + "/verdicts.json"));
  ASSERT_EQ(verdicts.size(), 3u);
  for (const nlohmann::json& v : verdicts) {
    EXPECT_EQ(v["experiment"], "three-regimes");
    EXPECT_EQ(v["pass"], true) << v.dump();
    EXPECT_TRUE(v["measured"].is_number());
    EXPECT_TRUE(v["expected"].is_number());
    EXPECT_TRUE(v["claim"].is_string());
  }
  const nlohmann::json result =
      nlohmann::json::parse(testing::read_file(out + "/three-regimes/result.json"));
  EXPECT_EQ(result["seed"], 3);
  EXPECT_EQ(result["quick"], true);
}

TEST(ExperimentCommand, TableRunSaysWhereTheResultsAre) {
  testing::TempDir dir;
  const testing::ShellResult r =
      gradscope("experiment run three-regimes --quick --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t passes = 0;
  for (std::size_t at = r.out.find("PASS"); at != std::string::npos;
       at = r.out.find("PASS", at + 1)) {
    ++passes;
  }
  EXPECT_EQ(passes, 3u) << r.out;
  EXPECT_NE(r.out.find("every verdict passes"), std::string::npos) << r.out;
}

TEST(ReportCommand, WritesOneHtmlWithEveryFigureAndEscapesResults) {
  testing::TempDir dir;
  const std::string out = dir / "out";
  ASSERT_EQ(gradscope("experiment run three-regimes --quick --out " + out).exit_code, 0);
  // A hostile string in a result file must reach the page only as text.
  const std::string result_path = out + "/three-regimes/result.json";
  nlohmann::json result = nlohmann::json::parse(testing::read_file(result_path));
  result["claim"] = "</script><img src=x onerror=alert(1)>";
  write_file_atomically(result_path, result.dump());
  write_stub_assets(dir.path() / "assets");
  const std::string html = dir / "report.html";
  const testing::ShellResult r = gradscope("report " + out + " -o " + html + " --no-svg --assets " +
                                           (dir / "assets") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["figures"], 1);
  const std::string page = testing::read_file(html);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;img"), std::string::npos);
  EXPECT_NE(page.find("data-chart=\"chart-0\""), std::string::npos);
  EXPECT_NE(page.find("three-regimes"), std::string::npos);
}

TEST(ReportCommand, MissingAssetsIsOneLineNamingTheFix) {
  testing::TempDir dir;
  const std::string out = dir / "out";
  ASSERT_EQ(gradscope("experiment run three-regimes --quick --out " + out).exit_code, 0);
  const testing::ShellResult r =
      gradscope("report " + out + " -o " + (dir / "r.html") + " --assets " + (dir / "none"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--assets"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "r.html"));
}

TEST(ReportCommand, FolderWithoutResultsIsBadInput) {
  testing::TempDir dir;
  write_stub_assets(dir.path() / "assets");
  const testing::ShellResult r = gradscope("report " + dir.path().string() + " -o " +
                                           (dir / "r.html") + " --assets " + (dir / "assets"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_FALSE(fs::exists(dir / "r.html"));
}

}  // namespace
}  // namespace gradscope
