// The HTML report writer: escaping of everything that comes from result files, JSON and
// JavaScript that cannot close their <script> element, one chart holder per figure, and no
// reference to anything outside the file.
#include "gradscope/report/html_report.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gradscope/core/error.hpp"
#include "gradscope/experiments/figure.hpp"
#include "gradscope/experiments/run_directory.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHostile = "</script><img src=x onerror=alert(1)>";

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

ReportAssets stub_assets() {
  return {"window.vega = {};", "window.vegaLite = {};", "window.vegaEmbed = () => {};"};
}

// A run folder whose every string is hostile, as a tampered or buggy result file could be.
ReportInput hostile_input() {
  DataTable table("t", {"series", "x", "y"});
  table.add_row({kHostile, 1, 2.0});
  figure::LineChart chart;
  chart.title = kHostile;
  chart.x = {"x", kHostile};
  chart.y = {"y", "y", true};
  chart.series = "series";
  const nlohmann::json spec = figure::line_chart(table, chart);
  nlohmann::json verdict =
      to_json(verdict_within(kHostile, kHostile, 1.0, 1.0, 0.0, kHostile), "plain-name");
  nlohmann::json result = {
      {"name", "plain-name"},
      {"title", kHostile},
      {"claim", kHostile},
      {"source", kHostile},
      {"settings", {{kHostile, kHostile}}},
      {"verdicts", {verdict}},
      {"figures", {{{"name", "f"}, {"caption", kHostile}, {"spec", "f.vl.json"}}}}};
  ReportInput input;
  input.run_dir = kHostile;
  input.experiments.push_back({result, {spec, spec}});
  input.experiments.back().result["figures"].push_back(
      input.experiments.back().result["figures"][0]);
  return input;
}

TEST(HtmlEscape, EscapesTheFiveCharacters) {
  EXPECT_EQ(html_escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
}

TEST(JsonForScript, CannotCloseTheScriptAndParsesBackTheSame) {
  const nlohmann::json value = {{"title", kHostile}, {"note", "a\u2028b <!-- c & d"}};
  const std::string text = json_for_script(value);
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find('>'), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(text), value);
}

TEST(JsForScript, BreaksUpClosingTagsAndDropsTheSourceMap) {
  const std::string js =
      js_for_script("var a = '</SCRIPT>'; var b = '<!--';\n//# sourceMappingURL=x.map");
  EXPECT_EQ(js, "var a = '<\\/SCRIPT>'; var b = '<\\!--';\n");
}

TEST(HtmlReport, EveryHostileStringIsEscaped) {
  const std::string html = render_html_report(hostile_input(), stub_assets());
  // The only script elements are the report's own: two specs, three libraries, the embed code.
  EXPECT_EQ(count(html, "<script"), 6u);
  EXPECT_EQ(count(html, "</script>"), 6u);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
}

TEST(HtmlReport, OneChartHolderAndSpecPerFigure) {
  const ReportInput input = hostile_input();
  ASSERT_EQ(input.figure_count(), 2u);
  const std::string html = render_html_report(input, stub_assets());
  EXPECT_EQ(count(html, "class=\"chart\""), 2u);
  EXPECT_EQ(count(html, "data-chart=\"chart-"), 2u);
  EXPECT_NE(html.find("id=\"chart-1\""), std::string::npos);
}

TEST(HtmlReport, ForbidsNetworkAndLoadsNothingFromOutside) {
  const std::string html = render_html_report(hostile_input(), stub_assets());
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(count(html, "<script src"), 0u);
  EXPECT_NE(html.find(GRADSCOPE_VERSION), std::string::npos);
}

TEST(HtmlReport, MissingAssetsNameTheFileAndTheFix) {
  testing::TempDir dir;
  try {
    load_report_assets(dir.path());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    const std::string message = e.what();
    EXPECT_NE(message.find("vega.min.js"), std::string::npos) << message;
    EXPECT_NE(message.find("--assets"), std::string::npos) << message;
  }
}

TEST(HtmlReport, ReadRefusesFigureFilesOutsideTheExperimentFolder) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "e");
  const nlohmann::json result = {{"name", "e"},
                                 {"figures", {{{"name", "f"}, {"spec", "../../etc/passwd"}}}}};
  write_file_atomically(dir.path() / "e" / "result.json", result.dump());
  EXPECT_THROW(read_report_input(dir.path()), Error);
}

TEST(HtmlReport, ReadRefusesAFolderWithoutResults) {
  testing::TempDir dir;
  EXPECT_THROW(read_report_input(dir.path()), Error);
  EXPECT_THROW(read_report_input(dir.path() / "missing"), Error);
}

}  // namespace
}  // namespace gradscope
