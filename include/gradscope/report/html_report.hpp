// `gradscope report`: one self-contained HTML file from an experiment run's folder (DIR, laid out
// as in experiments/experiment.hpp): the verdict table, and per experiment its claim, the source
// of its expectation, its settings and its figures as interactive Vega-Lite charts.
//
// Self-contained: vega, vega-lite and vega-embed are inlined (ReportAssets, from the build's npm
// install), the specs carry their data, and a Content-Security-Policy forbids every network
// request, so the file opens offline and a stray fetch shows as a console error. Every string
// that comes from a result file is HTML-escaped; JSON inside <script> has its '<', '>' and '&'
// written as \u escapes, so no value can close the script element.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gradscope {

struct ReportAssets {
  std::string vega;        // vega/build/vega.min.js
  std::string vega_lite;   // vega-lite/build/vega-lite.min.js
  std::string vega_embed;  // vega-embed/build/vega-embed.min.js
};

// Reads the three builds under ASSETS/node_modules. Bad-input Error naming the first missing
// file and how to get it.
ReportAssets load_report_assets(const std::filesystem::path& assets_dir);

struct ReportExperiment {
  nlohmann::json result;              // its result.json
  std::vector<nlohmann::json> specs;  // one Vega-Lite spec per entry of result["figures"]
};

struct ReportInput {
  std::filesystem::path run_dir;
  std::vector<ReportExperiment> experiments;
  std::size_t figure_count() const;
};

// Reads every DIR/<experiment>/result.json and its figure specs. Bad-input Error when DIR holds
// no result, or a result names a figure file that is missing or not a plain file name.
ReportInput read_report_input(const std::filesystem::path& run_dir);

std::string render_html_report(const ReportInput& input, const ReportAssets& assets);

// & < > " ' as entities.
std::string html_escape(std::string_view text);
// JSON text safe between <script> and </script>: '<', '>', '&' as \u003c, \u003e, \u0026
// (still the same JSON), non-ASCII as \u escapes.
std::string json_for_script(const nlohmann::json& value);
// A JavaScript library safe inside <script>: any "</script" or "<!--" broken up, and the
// sourceMappingURL comment dropped (the map is not embedded; no devtools fetch for it).
std::string js_for_script(std::string_view code);

}  // namespace gradscope
