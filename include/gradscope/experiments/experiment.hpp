// The experiment framework: one experiment per quantitative claim of the article, each returning
// its data, its figures and its verdicts, so that a reader can re-run the claim and see it pass
// or fail.
//
// An experiment computes; it does not write files, print or know about the command line. The
// runner (run_directory.hpp) lays its result out on disk:
//
//   DIR/verdicts.json                  every verdict of every experiment in DIR
//   DIR/<experiment>/result.json       claim, source, settings, verdicts, figure and table list
//   DIR/<experiment>/<table>.csv|.json the data behind the figures
//   DIR/<experiment>/<figure>.vl.json  Vega-Lite v5 specs, data inline (figure.hpp)
//   DIR/<experiment>/<figure>.svg      static copies, rendered by report/render_svg.mjs
//
// The format is documented in docs/experiments.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gradscope {

struct ExperimentContext {
  std::filesystem::path out_dir;  // this experiment's folder, for outputs too large to return
  bool quick = false;             // smaller sizes: `experiment all --quick` within minutes
  std::uint64_t seed = 0;
  // (done, total) as the experiment advances, in units it chooses; may be empty.
  std::function<void(long done, long total)> progress;

  void report_progress(long done, long total) const {
    if (progress) progress(done, total);
  }
};

// How a verdict compares the measured number with the expected one.
enum class Comparison {
  kWithin,   // |measured - expected| <= tolerance
  kAtMost,   // measured <= expected + tolerance (an upper bound)
  kAtLeast,  // measured >= expected - tolerance (a lower bound)
};
std::string_view comparison_name(Comparison comparison);  // "within" | "at_most" | "at_least"

// One checked number. A non-finite measurement never passes.
struct Verdict {
  std::string name;   // unique within its experiment: "slope rho=0.9"
  std::string claim;  // the article's words
  double measured = 0.0;
  double expected = 0.0;
  double tolerance = 0.0;  // absolute, in `units`
  Comparison comparison = Comparison::kWithin;
  std::string units;  // "log10 per layer", "decades", ...
  bool pass = false;
};

// The constructors set `pass` from the comparison.
Verdict verdict_within(std::string name, std::string claim, double measured, double expected,
                       double tolerance, std::string units);
Verdict verdict_at_most(std::string name, std::string claim, double measured, double bound,
                        double tolerance, std::string units);
Verdict verdict_at_least(std::string name, std::string claim, double measured, double bound,
                         double tolerance, std::string units);

// Named columns of numbers and strings: written as CSV and as JSON records, and the inline data
// ("values") of the figures drawn from it. Non-finite numbers become null (empty in CSV).
class DataTable {
 public:
  DataTable(std::string name, std::vector<std::string> columns);
  // One cell per column: numbers or strings. Bad-size rows are an internal error.
  void add_row(std::vector<nlohmann::json> cells);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& columns() const { return columns_; }
  std::size_t size() const { return rows_.size(); }
  // [{"column": value, ...}, ...]: Vega-Lite's inline data format.
  nlohmann::json records() const;
  // RFC 4180: a header line, then one line per row; strings quoted when needed.
  std::string csv() const;

 private:
  std::string name_;  // file stem
  std::vector<std::string> columns_;
  std::vector<std::vector<nlohmann::json>> rows_;
};

struct Figure {
  std::string name;     // file stem: <name>.vl.json and <name>.svg
  std::string caption;  // what the reader should see in it
  nlohmann::json spec;  // Vega-Lite v5, data inline
};

struct ExperimentResult {
  nlohmann::json settings = nlohmann::json::object();  // sizes, seed and flags the run used
  std::vector<Verdict> verdicts;
  std::vector<Figure> figures;
  std::vector<DataTable> tables;

  // True when there is at least one verdict and every verdict passes.
  bool passed() const;
};

class Experiment {
 public:
  virtual ~Experiment() = default;
  virtual std::string name() const = 0;    // command-line name: "three-regimes"
  virtual std::string title() const = 0;   // one line for the report
  virtual std::string claim() const = 0;   // the claim, in the article's words
  virtual std::string source() const = 0;  // where the expectation comes from: sentence, paper
  virtual ExperimentResult run(const ExperimentContext& context) const = 0;
};

}  // namespace gradscope
