// Reading run logs (docs/run-log.md), ours or python/gradscope_torch.py's, for the doctor and
// the report.
//
// The reader is forgiving where a log can be damaged in ordinary use and strict where nothing
// can be read. Blank lines are skipped; a truncated last line (a killed writer), a line that is
// not JSON, a record of unknown type and a field of the wrong type are each reported as a
// LogIssue naming the line (and field), and everything else is still read. Bare NaN, Infinity
// and -Infinity tokens (Python's json.dumps writes them) are read as non-finite numbers. A file
// that is empty, unreadable, or has no record that parses is bad input: an Error naming the file
// and the first offending line.
//
// Numbers that the log writes as null (non-finite, or unknown) are empty optionals here; a
// non-finite token becomes an optional holding NaN or +-Inf, so rules can tell "absent" from
// "overflowed".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gradscope {

// Something the reader skipped or could not use; the rest of the log was still read.
struct LogIssue {
  long line = 0;  // 1-based line number in the file
  std::string message;
};

struct LoggedLayer {
  long index = 0;
  std::string name;
  std::string kind;
  std::string activation;
  std::optional<double> grad_norm;
  std::optional<double> grad_norm_batch;
  std::optional<double> weight_norm;
  std::optional<double> weight_grad_norm;
  std::optional<double> rel_dist_init;
  std::optional<double> update_ratio;
  std::optional<double> saturated;
  std::optional<double> dead;
  bool nonfinite = false;
  std::optional<double> skip_grad_norm;
  std::optional<double> branch_grad_norm;
  std::optional<double> jacobian_spectral_radius;
  std::optional<double> jacobian_spectral_norm;
};

// One recurrent layer's curves on one step; each vector has one entry per time step, t = 1 first.
struct LoggedTimeSteps {
  long layer = 0;
  std::vector<std::optional<double>> grad_norm;
  std::vector<std::optional<double>> cell_grad_norm;
  std::vector<std::optional<double>> activation_derivative;
  std::vector<std::optional<double>> keep_gate;
};

struct LoggedStep {
  long line = 0;
  long step = 0;
  std::optional<double> loss;
  std::optional<double> grad_norm;  // before clipping
  bool clipped = false;
  bool skipped = false;
  std::optional<double> lr;
  bool nonfinite_loss = false;
  bool nonfinite_grad = false;
  bool nonfinite_weight = false;
  std::string first_nonfinite;      // e.g. "4.weight"; empty when none
  std::vector<LoggedLayer> layers;  // empty on steps that were not probed
  std::vector<LoggedTimeSteps> time_steps;
};

struct LoggedEval {
  long line = 0;
  long step = 0;
  std::optional<double> loss;
  std::optional<double> accuracy;
};

struct LoggedEnd {
  long line = 0;
  std::string status;  // "completed" or "stopped"
  std::string reason;
};

// The header's settings that rules read, typed; the whole header stays available as JSON.
struct RunSettings {
  std::string model;  // "mlp", "rnn", "lstm", "gru", or what another writer put ("torch")
  std::string act;    // MLP activation, or empty
  std::string cell;   // recurrent cell, or empty
  std::string init;
  std::string task;
  std::optional<long> depth;
  std::optional<long> seq;     // sequence length T of recurrent tasks
  std::optional<long> tbptt;   // 0 = full BPTT
  std::optional<double> clip;  // --clip C; empty when off
  std::optional<double> lr;
  std::optional<double> baseline_loss;  // what a model scores without memory (adding: 1/6)
  bool residual = false;
  std::string norm;  // "none", "batch", "layer", "weight", or empty
};

// One training run: a header and the records after it, up to the next header or the end.
struct LoggedRun {
  long header_line = 0;
  nlohmann::json header;  // the raw header record
  RunSettings settings;
  std::vector<LoggedStep> steps;
  std::vector<LoggedEval> evals;
  std::optional<LoggedEnd> end;  // empty: the run was killed or is still running
};

struct RunLogFile {
  std::string path;
  std::vector<LoggedRun> runs;   // a file may hold several runs, each starting with a header
  std::vector<LogIssue> issues;  // what was skipped, line by line
};

// Reads `path`; throws a bad-input Error (naming the file and line) when nothing can be read.
RunLogFile read_run_log(const std::string& path);
// The same from text already in memory; `path` only names it in messages (tests, the fuzzer).
RunLogFile parse_run_log(std::string_view text, const std::string& path);

}  // namespace gradscope
