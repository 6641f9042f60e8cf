#include "gradscope/probe/run_log_reader.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>

#include "gradscope/core/error.hpp"

namespace gradscope {

namespace {

using nlohmann::json;

// Python's json.dumps writes NaN, Infinity and -Infinity as bare tokens, which JSON forbids.
// Outside string literals they are rewritten into these strings, which the number reader below
// takes back as non-finite numbers. `quoted_ends` receives, for each token rewritten, where its
// closing quote ends in the output, so an error column can be mapped back to the line as written.
constexpr std::string_view kNanToken = "NaN";
constexpr std::string_view kInfinityToken = "Infinity";
constexpr std::string_view kMinusInfinityToken = "-Infinity";

std::string quote_nonfinite_tokens(std::string_view line, std::vector<std::size_t>& quoted_ends) {
  std::string out;
  out.reserve(line.size() + 8);
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < line.size()) {
        out.push_back(line[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      continue;
    }
    std::string_view matched;
    for (std::string_view token : {kMinusInfinityToken, kInfinityToken, kNanToken}) {
      if (line.substr(i, token.size()) == token) {
        matched = token;
        break;
      }
    }
    if (matched.empty()) {
      out.push_back(c);
    } else {
      out += fmt::format("\"{}\"", matched);
      quoted_ends.push_back(out.size());
      i += matched.size() - 1;
    }
  }
  return out;
}

// Typed access to one record's fields. A field of the wrong type is reported (with the line and
// the field's path) and read as absent, so one bad number does not cost the whole record.
class FieldReader {
 public:
  FieldReader(long line, std::vector<LogIssue>& issues) : line_(line), issues_(issues) {}

  std::optional<double> number(const json& object, const char* field, const std::string& where) {
    return number_value(find(object, field), join(where, field));
  }

  std::optional<long> integer(const json& object, const char* field, const std::string& where) {
    const json* value = find(object, field);
    if (value == nullptr || value->is_null()) return std::nullopt;
    // An unsigned integer beyond long's range (a damaged log) would wrap around: a wrong type.
    if (value->is_number_unsigned()) {
      const auto x = value->get<std::uint64_t>();
      if (x <= static_cast<std::uint64_t>(std::numeric_limits<long>::max())) {
        return static_cast<long>(x);
      }
    } else if (value->is_number_integer()) {
      return value->get<long>();
    }
    if (value->is_number_float()) {
      const double x = value->get<double>();
      if (std::isfinite(x) && x == std::floor(x) && std::abs(x) < 9e15) return static_cast<long>(x);
    }
    wrong_type(*value, field, where, "an integer");
    return std::nullopt;
  }

  bool boolean(const json& object, const char* field, const std::string& where) {
    const json* value = find(object, field);
    if (value == nullptr || value->is_null()) return false;
    if (value->is_boolean()) return value->get<bool>();
    wrong_type(*value, field, where, "true or false");
    return false;
  }

  std::string text(const json& object, const char* field, const std::string& where) {
    const json* value = find(object, field);
    if (value == nullptr || value->is_null()) return {};
    if (value->is_string()) return value->get<std::string>();
    wrong_type(*value, field, where, "a string");
    return {};
  }

  // An array field; absent or of the wrong type reads as empty.
  const json* array(const json& object, const char* field, const std::string& where) {
    const json* value = find(object, field);
    if (value == nullptr || value->is_null()) return nullptr;
    if (value->is_array()) return value;
    wrong_type(*value, field, where, "an array");
    return nullptr;
  }

  // An object field; absent or of the wrong type reads as empty.
  const json* object(const json& parent, const char* field, const std::string& where) {
    const json* value = find(parent, field);
    if (value == nullptr || value->is_null()) return nullptr;
    if (value->is_object()) return value;
    wrong_type(*value, field, where, "an object");
    return nullptr;
  }

  std::vector<std::optional<double>> numbers(const json& object, const char* field,
                                             const std::string& where) {
    std::vector<std::optional<double>> out;
    const json* values = array(object, field, where);
    if (values == nullptr) return out;
    out.reserve(values->size());
    for (std::size_t i = 0; i < values->size(); ++i) {
      out.push_back(number_value(&(*values)[i], fmt::format("{}[{}]", join(where, field), i)));
    }
    return out;
  }

  void problem(std::string message) { issues_.push_back({line_, std::move(message)}); }

 private:
  static const json* find(const json& object, const char* field) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(field);
    return it == object.end() ? nullptr : &*it;
  }

  static std::string join(const std::string& where, const char* field) {
    return where.empty() ? std::string(field) : fmt::format("{}.{}", where, field);
  }

  std::optional<double> number_value(const json* value, const std::string& path) {
    if (value == nullptr || value->is_null()) return std::nullopt;
    if (value->is_number()) return value->get<double>();
    if (value->is_string()) {
      const std::string& text = value->get_ref<const std::string&>();
      if (text == kNanToken) return std::numeric_limits<double>::quiet_NaN();
      if (text == kInfinityToken) return std::numeric_limits<double>::infinity();
      if (text == kMinusInfinityToken) return -std::numeric_limits<double>::infinity();
    }
    wrong_type(*value, path, "a number");
    return std::nullopt;
  }

  void wrong_type(const json& value, const char* field, const std::string& where,
                  const char* expected) {
    wrong_type(value, join(where, field), expected);
  }
  void wrong_type(const json& value, const std::string& path, const char* expected) {
    problem(
        fmt::format("field '{}': expected {}, got {}; ignored", path, expected, value.type_name()));
  }

  long line_;
  std::vector<LogIssue>& issues_;
};

LoggedLayer read_layer(FieldReader& fields, const json& record, const std::string& where) {
  LoggedLayer layer;
  layer.index = fields.integer(record, "index", where).value_or(0);
  layer.name = fields.text(record, "name", where);
  layer.kind = fields.text(record, "kind", where);
  layer.activation = fields.text(record, "activation", where);
  layer.grad_norm = fields.number(record, "grad_norm", where);
  layer.grad_norm_batch = fields.number(record, "grad_norm_batch", where);
  layer.weight_norm = fields.number(record, "weight_norm", where);
  layer.weight_grad_norm = fields.number(record, "weight_grad_norm", where);
  layer.rel_dist_init = fields.number(record, "rel_dist_init", where);
  layer.update_ratio = fields.number(record, "update_ratio", where);
  layer.saturated = fields.number(record, "saturated", where);
  layer.dead = fields.number(record, "dead", where);
  layer.nonfinite = fields.boolean(record, "nonfinite", where);
  layer.skip_grad_norm = fields.number(record, "skip_grad_norm", where);
  layer.branch_grad_norm = fields.number(record, "branch_grad_norm", where);
  layer.jacobian_spectral_radius = fields.number(record, "jacobian_spectral_radius", where);
  layer.jacobian_spectral_norm = fields.number(record, "jacobian_spectral_norm", where);
  return layer;
}

std::vector<LoggedLayer> read_layers(FieldReader& fields, const json& record) {
  std::vector<LoggedLayer> layers;
  const json* entries = fields.array(record, "layers", "");
  if (entries == nullptr) return layers;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string where = fmt::format("layers[{}]", i);
    if (!(*entries)[i].is_object()) {
      fields.problem(fmt::format("field '{}': expected an object, got {}; ignored", where,
                                 (*entries)[i].type_name()));
      continue;
    }
    layers.push_back(read_layer(fields, (*entries)[i], where));
  }
  return layers;
}

std::vector<LoggedTimeSteps> read_time_steps(FieldReader& fields, const json& record) {
  std::vector<LoggedTimeSteps> curves;
  const json* entries = fields.array(record, "time_steps", "");
  if (entries == nullptr) return curves;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const std::string where = fmt::format("time_steps[{}]", i);
    const json& entry = (*entries)[i];
    if (!entry.is_object()) {
      fields.problem(
          fmt::format("field '{}': expected an object, got {}; ignored", where, entry.type_name()));
      continue;
    }
    LoggedTimeSteps curve;
    curve.layer = fields.integer(entry, "layer", where).value_or(static_cast<long>(i));
    curve.grad_norm = fields.numbers(entry, "grad_norm", where);
    curve.cell_grad_norm = fields.numbers(entry, "cell_grad_norm", where);
    curve.activation_derivative = fields.numbers(entry, "activation_derivative", where);
    curve.keep_gate = fields.numbers(entry, "keep_gate", where);
    curves.push_back(std::move(curve));
  }
  return curves;
}

RunSettings read_settings(FieldReader& fields, const json& header) {
  RunSettings s;
  const json empty = json::object();
  const json* model = fields.object(header, "model", "");
  const json* train = fields.object(header, "train", "");
  const json* task = fields.object(header, "task", "");
  const json& m = model != nullptr ? *model : empty;
  const json& t = train != nullptr ? *train : empty;
  const json& k = task != nullptr ? *task : empty;
  s.model = fields.text(m, "model", "model");
  s.act = fields.text(m, "act", "model");
  s.cell = fields.text(m, "cell", "model");
  s.init = fields.text(m, "init", "model");
  s.depth = fields.integer(m, "depth", "model");
  s.seq = fields.integer(m, "seq", "model");
  s.tbptt = fields.integer(m, "tbptt", "model");
  s.residual = fields.boolean(m, "residual", "model");
  s.norm = fields.text(m, "norm", "model");
  s.clip = fields.number(t, "clip", "train");
  s.lr = fields.number(t, "lr", "train");
  s.task = fields.text(k, "name", "task");
  if (!s.seq) s.seq = fields.integer(k, "seq", "task");
  s.baseline_loss = fields.number(k, "baseline_loss", "task");
  return s;
}

LoggedStep read_step(FieldReader& fields, const json& record, long line, long previous_step) {
  LoggedStep step;
  step.line = line;
  const std::optional<long> number = fields.integer(record, "step", "");
  if (!number) fields.problem("step record without a 'step' number; numbered after the previous");
  // previous_step + 1, except where a damaged log's step number would overflow.
  step.step = number.value_or(previous_step < std::numeric_limits<long>::max() ? previous_step + 1
                                                                               : previous_step);
  step.loss = fields.number(record, "loss", "");
  step.grad_norm = fields.number(record, "grad_norm", "");
  step.clipped = fields.boolean(record, "clipped", "");
  step.skipped = fields.boolean(record, "skipped", "");
  step.lr = fields.number(record, "lr", "");
  if (const json* flags = fields.object(record, "nonfinite", ""); flags != nullptr) {
    step.nonfinite_loss = fields.boolean(*flags, "loss", "nonfinite");
    step.nonfinite_grad = fields.boolean(*flags, "grad", "nonfinite");
    step.nonfinite_weight = fields.boolean(*flags, "weight", "nonfinite");
  }
  // A writer that put NaN tokens in the numbers (not nulls and flags) still says the same thing.
  if (step.loss && !std::isfinite(*step.loss)) step.nonfinite_loss = true;
  if (step.grad_norm && !std::isfinite(*step.grad_norm)) step.nonfinite_grad = true;
  step.first_nonfinite = fields.text(record, "first_nonfinite", "");
  step.layers = read_layers(fields, record);
  step.time_steps = read_time_steps(fields, record);
  return step;
}

// nlohmann's message without its "[json.exception.out_of_range.406] " prefix.
std::string message_of(const nlohmann::json::exception& e) {
  const std::string_view what = e.what();
  const std::size_t end = what.find("] ");
  return std::string(end == std::string_view::npos ? what : what.substr(end + 2));
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// Reads a log line by line, so a log larger than memory is read in the memory of one line.
class RunLogParser {
 public:
  explicit RunLogParser(std::string path) { file_.path = std::move(path); }

  // `unterminated`: the file's last line, without a newline: what a killed writer leaves.
  void add_line(long number, std::string_view text, bool unterminated) {
    ++lines_;
    if (is_blank(text)) return;
    FieldReader fields(number, file_.issues);
    json record;
    std::vector<std::size_t> quoted_ends;
    try {
      record = json::parse(quote_nonfinite_tokens(text, quoted_ends));
    } catch (const json::parse_error& e) {
      // e.byte counts in the quoted text: each token quoted before it added two characters.
      std::size_t column = e.byte;
      for (std::size_t end : quoted_ends) column -= end < e.byte ? 2 : 0;
      reject(fields, number,
             unterminated ? std::string("truncated last record (the writer was stopped mid-line)")
                          : fmt::format("not a JSON record (syntax error at column {})", column));
      return;
    } catch (const json::exception& e) {
      // Valid JSON that nlohmann cannot hold, e.g. a number beyond double's range (1e999):
      // parse() throws out_of_range, not parse_error.
      reject(fields, number, fmt::format("not a readable JSON record ({})", message_of(e)));
      return;
    }
    if (!record.is_object()) {
      reject(fields, number, fmt::format("a JSON {}, not a record", record.type_name()));
      return;
    }
    const std::string type = fields.text(record, "type", "");
    if (type.empty()) {
      reject(fields, number, "record without a 'type'");
      return;
    }
    ++records_;
    add_record(fields, number, type, std::move(record));
  }

  RunLogFile finish() {
    if (records_ == 0) {
      if (lines_ == 0) throw_bad_input("{}: empty file: not a run log", file_.path);
      if (!first_bad_line_) throw_bad_input("{}: only blank lines: not a run log", file_.path);
      throw_bad_input("{}:{}: not a run log: {}", file_.path, *first_bad_line_, first_bad_message_);
    }
    return std::move(file_);
  }

 private:
  void reject(FieldReader& fields, long number, std::string message) {
    if (!first_bad_line_) {
      first_bad_line_ = number;
      first_bad_message_ = message;
    }
    fields.problem(message + "; ignored");
  }

  void add_record(FieldReader& fields, long number, const std::string& type, json record) {
    if (type == "header") {
      LoggedRun run;
      run.header_line = number;
      run.settings = read_settings(fields, record);
      run.header = std::move(record);
      file_.runs.push_back(std::move(run));
      return;
    }
    if (file_.runs.empty()) {
      fields.problem("records before any header: the run's settings are unknown");
      file_.runs.emplace_back();
    }
    LoggedRun& run = file_.runs.back();
    const long last_step = run.steps.empty() ? 0 : run.steps.back().step;
    if (type == "step") {
      run.steps.push_back(read_step(fields, record, number, last_step));
    } else if (type == "eval") {
      LoggedEval eval;
      eval.line = number;
      eval.step = fields.integer(record, "step", "").value_or(last_step);
      eval.loss = fields.number(record, "loss", "");
      eval.accuracy = fields.number(record, "accuracy", "");
      run.evals.push_back(eval);
    } else if (type == "end") {
      run.end =
          LoggedEnd{number, fields.text(record, "status", ""), fields.text(record, "reason", "")};
    } else {
      fields.problem(fmt::format("unknown record type '{}'; ignored", type));
    }
  }

  RunLogFile file_;
  long lines_ = 0;
  long records_ = 0;
  std::optional<long> first_bad_line_;
  std::string first_bad_message_;
};

}  // namespace

RunLogFile parse_run_log(std::string_view text, const std::string& path) {
  RunLogParser parser(path);
  long number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    ++number;
    if (end == std::string_view::npos) {
      parser.add_line(number, text.substr(start), true);
      break;
    }
    parser.add_line(number, text.substr(start, end - start), false);
    start = end + 1;
  }
  return parser.finish();
}

RunLogFile read_run_log(const std::string& path) {
  // A directory opens as a stream that reads nothing; say what it is instead of "empty file".
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw_bad_input("{}: a directory, not a run log", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_input("{}: cannot open the run log", path);
  RunLogParser parser(path);
  std::string line;
  for (long number = 1; std::getline(in, line); ++number) {
    parser.add_line(number, line, in.eof());  // eof: the last line had no newline
  }
  if (in.bad()) throw_bad_input("{}: cannot read the run log", path);
  return parser.finish();
}

}  // namespace gradscope
