#include "gradscope/report/html_report.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "gradscope/core/error.hpp"
#include "gradscope/experiments/run_directory.hpp"

namespace gradscope {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A field of a result file as display text: strings as they are, other values as JSON.
std::string text_of(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const nlohmann::json& value = object[key];
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string number_text(const nlohmann::json& value) {
  if (value.is_null()) return "n/a";
  if (value.is_number()) return fmt::format("{:.6g}", value.get<double>());
  return value.is_string() ? value.get<std::string>() : value.dump();
}

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

std::string comparison_text(const nlohmann::json& verdict) {
  const std::string comparison = text_of(verdict, "comparison");
  const std::string expected =
      html_escape(number_text(verdict.value("expected", nlohmann::json())));
  const std::string tolerance =
      html_escape(number_text(verdict.value("tolerance", nlohmann::json())));
  if (comparison == "at_most") return fmt::format("&le; {} (+{})", expected, tolerance);
  if (comparison == "at_least") return fmt::format("&ge; {} (&minus;{})", expected, tolerance);
  return fmt::format("{} &plusmn; {}", expected, tolerance);
}

constexpr const char* kStyle = R"(
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #17692e; font-weight: 600; }
.fail { color: #b00020; font-weight: 600; }
.claim { border-left: 4px solid #4c78a8; padding-left: 0.8em; }
.source { color: #555; }
.chart { margin: 1em 0 0.3em; }
.caption { color: #555; font-size: 14px; margin-top: 0; }
footer { margin-top: 3em; color: #777; font-size: 13px; }
)";

// Renders the charts: each <script type="application/json" data-chart="ID"> holds the spec of
// the element with that id. Errors go to the console (the browser test fails on them).
constexpr const char* kEmbedScript = R"(
for (const holder of document.querySelectorAll('script[type="application/json"][data-chart]')) {
  const target = document.getElementById(holder.dataset.chart);
  const options = {
    renderer: 'svg',
    actions: { export: true, source: false, compiled: false, editor: false },
  };
  vegaEmbed(target, JSON.parse(holder.textContent), options).catch((error) => {
    console.error(error);
    target.textContent = 'This chart could not be drawn: ' + error.message;
  });
}
)";

void append_verdict_rows(std::string& html, const nlohmann::json& result) {
  if (!result.contains("verdicts") || !result["verdicts"].is_array()) return;
  for (const nlohmann::json& v : result["verdicts"]) {
    const bool pass = v.is_object() && v.value("pass", false) == true;
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td>{}</td><td class=\"{}\">{}</td></tr>\n",
        html_escape(text_of(result, "name")), html_escape(text_of(v, "name")),
        html_escape(text_of(v, "claim")),
        html_escape(number_text(v.value("measured", nlohmann::json()))), comparison_text(v),
        html_escape(text_of(v, "units")), pass ? "pass" : "fail", pass ? "PASS" : "FAIL");
  }
}

void append_settings(std::string& html, const nlohmann::json& result) {
  html += "<table class=\"settings\"><tr><th>setting</th><th>value</th></tr>\n";
  const auto row = [&html](const std::string& key, const std::string& value) {
    html += fmt::format("<tr><td>{}</td><td><code>{}</code></td></tr>\n", html_escape(key),
                        html_escape(value));
  };
  for (const char* key : {"seed", "quick", "wall_seconds", "gradscope_version"}) {
    if (result.contains(key)) row(key, text_of(result, key));
  }
  if (result.contains("settings") && result["settings"].is_object()) {
    for (const auto& [key, value] : result["settings"].items()) {
      row(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  html += "</table>\n";
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string json_for_script(const nlohmann::json& value) {
  // ensure_ascii also escapes U+2028 and U+2029; '<', '>' and '&' appear only inside strings,
  // where \u escapes mean the same characters.
  const std::string text = value.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else {
      out += c;
    }
  }
  return out;
}

std::string js_for_script(std::string_view code) {
  std::string out(code);
  // Drop the trailing source-map comment(s).
  for (std::size_t at; (at = out.find("//# sourceMappingURL=")) != std::string::npos;) {
    const std::size_t end = out.find('\n', at);
    out.erase(at, end == std::string::npos ? std::string::npos : end - at);
  }
  // Inside JavaScript strings and regular expressions "<\/" means "</" and "<\!" means "<!".
  std::string safe;
  safe.reserve(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    safe += out[i];
    if (out[i] != '<' || i + 1 >= out.size()) continue;
    std::string next = out.substr(i + 1, 7);
    for (char& c : next) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (next.rfind("/script", 0) == 0) {
      safe += '\\';
    } else if (next.rfind("!--", 0) == 0) {
      safe += '\\';
    }
  }
  return safe;
}

ReportAssets load_report_assets(const fs::path& assets_dir) {
  const auto load = [&assets_dir](const char* relative) {
    const fs::path path = assets_dir / "node_modules" / relative;
    if (!fs::is_regular_file(path)) {
      throw_bad_input(
          "report assets not found: {} is missing (build the report_assets target, which runs "
          "npm ci, or pass --assets DIR)",
          path.string());
    }
    return read_text(path);
  };
  ReportAssets assets;
  assets.vega = load("vega/build/vega.min.js");
  assets.vega_lite = load("vega-lite/build/vega-lite.min.js");
  assets.vega_embed = load("vega-embed/build/vega-embed.min.js");
  return assets;
}

std::size_t ReportInput::figure_count() const {
  std::size_t count = 0;
  for (const ReportExperiment& e : experiments) count += e.specs.size();
  return count;
}

ReportInput read_report_input(const fs::path& run_dir) {
  ReportInput input;
  input.run_dir = run_dir;
  for (nlohmann::json& result : read_experiment_results(run_dir)) {
    ReportExperiment experiment;
    const std::string name = text_of(result, "name");
    const fs::path dir = run_dir / name;
    if (!is_plain_file_name(name) || !fs::is_directory(dir)) {
      throw_bad_input("{}: experiment name '{}' does not name its folder", run_dir.string(), name);
    }
    if (result.contains("figures") && result["figures"].is_array()) {
      for (const nlohmann::json& figure : result["figures"]) {
        const std::string spec = text_of(figure, "spec");
        if (!is_plain_file_name(spec)) {
          throw_bad_input("{}: figure spec '{}' is not a file name in its folder",
                          (dir / "result.json").string(), spec);
        }
        std::ifstream in(dir / spec);
        if (!in) throw_bad_input("{}: missing (named in result.json)", (dir / spec).string());
        try {
          experiment.specs.push_back(nlohmann::json::parse(in));
        } catch (const nlohmann::json::exception& e) {
          throw_bad_input("{}: not valid JSON: {}", (dir / spec).string(), e.what());
        }
      }
    }
    experiment.result = std::move(result);
    input.experiments.push_back(std::move(experiment));
  }
  if (input.experiments.empty()) {
    throw_bad_input("{}: no experiment results (run `gradscope experiment run NAME --out {}`)",
                    run_dir.string(), run_dir.string());
  }
  return input;
}

std::string render_html_report(const ReportInput& input, const ReportAssets& assets) {
  std::size_t verdicts = 0;
  std::size_t passed = 0;
  for (const ReportExperiment& e : input.experiments) {
    if (!e.result.contains("verdicts") || !e.result["verdicts"].is_array()) continue;
    for (const nlohmann::json& v : e.result["verdicts"]) {
      ++verdicts;
      if (v.is_object() && v.value("pass", false) == true) ++passed;
    }
  }
  const bool all_pass = verdicts > 0 && passed == verdicts;

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No network: the page may run only its own inline scripts and styles and show data: images.
  // vega compiles its expressions with Function(): 'unsafe-eval'.
  html +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
      "img-src data: blob:\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>gradscope report</title>\n";
  html += fmt::format("<style>{}</style>\n</head>\n<body>\n", kStyle);

  html += "<header>\n<h1>gradscope report</h1>\n";
  html += fmt::format("<p class=\"summary {}\">{} of {} verdicts pass</p>\n",
                      all_pass ? "pass" : "fail", passed, verdicts);
  html += fmt::format(
      "<p>Experiments reproducing the claims of <em>Vanishing and Exploding Gradients</em>, "
      "from <code>{}</code>. Report made by gradscope {}.</p>\n</header>\n",
      html_escape(input.run_dir.string()), html_escape(GRADSCOPE_VERSION));

  html += "<section id=\"verdicts\">\n<h2>Verdicts</h2>\n<table>\n";
  html +=
      "<tr><th>experiment</th><th>verdict</th><th>claim</th><th>measured</th>"
      "<th>expected</th><th>units</th><th></th></tr>\n";
  for (const ReportExperiment& e : input.experiments) append_verdict_rows(html, e.result);
  html += "</table>\n</section>\n";

  std::string specs;
  std::size_t chart = 0;
  for (const ReportExperiment& e : input.experiments) {
    const nlohmann::json& r = e.result;
    html += fmt::format("<section class=\"experiment\">\n<h2>{} <code>{}</code></h2>\n",
                        html_escape(text_of(r, "title")), html_escape(text_of(r, "name")));
    html += fmt::format("<p class=\"claim\"><strong>Claim.</strong> {}</p>\n",
                        html_escape(text_of(r, "claim")));
    html += fmt::format("<p class=\"source\"><strong>Expectation from.</strong> {}</p>\n",
                        html_escape(text_of(r, "source")));
    for (std::size_t f = 0; f < e.specs.size(); ++f, ++chart) {
      const nlohmann::json& figure = r["figures"][f];
      html += fmt::format(
          "<figure>\n<div class=\"chart\" id=\"chart-{}\"></div>\n"
          "<figcaption class=\"caption\">{}</figcaption>\n</figure>\n",
          chart, html_escape(text_of(figure, "caption")));
      specs +=
          fmt::format("<script type=\"application/json\" data-chart=\"chart-{}\">{}</script>\n",
                      chart, json_for_script(e.specs[f]));
    }
    html += "<table class=\"verdicts\">\n";
    html +=
        "<tr><th>experiment</th><th>verdict</th><th>claim</th><th>measured</th>"
        "<th>expected</th><th>units</th><th></th></tr>\n";
    append_verdict_rows(html, r);
    html += "</table>\n<h3>Settings</h3>\n";
    append_settings(html, r);
    html += "</section>\n";
  }

  html += fmt::format(
      "<footer>gradscope {}. Charts drawn with Vega-Lite (vega, vega-lite, vega-embed, "
      "BSD-3-Clause), embedded in this file.</footer>\n",
      html_escape(GRADSCOPE_VERSION));
  html += specs;
  for (const std::string* library : {&assets.vega, &assets.vega_lite, &assets.vega_embed}) {
    html += "<script>" + js_for_script(*library) + "\n</script>\n";
  }
  html += fmt::format("<script>{}</script>\n</body>\n</html>\n", kEmbedScript);
  return html;
}

}  // namespace gradscope
