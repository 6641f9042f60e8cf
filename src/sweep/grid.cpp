#include "gradscope/sweep/grid.hpp"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <set>
#include <sstream>

#include "gradscope/core/error.hpp"
#include "gradscope/sweep/json_position.hpp"

namespace gradscope {

namespace {

using ordered_json = nlohmann::ordered_json;

// A place in the grid: its JSON pointer (to look up the line) and how errors spell it.
struct Key {
  std::string pointer;
  std::string display;
  Key member(const std::string& name) const {
    return {pointer + "/" + name, display.empty() ? name : display + "." + name};
  }
  Key element(std::size_t i) const {
    return {fmt::format("{}/{}", pointer, i), fmt::format("{}[{}]", display, i)};
  }
};

class GridReader {
 public:
  GridReader(std::string_view text, std::string file)
      : file_(std::move(file)), positions_(json_value_positions(text)) {}

  [[noreturn]] void fail(const Key& key, const std::string& what) const {
    const auto found = positions_.find(key.pointer);
    const long line = found == positions_.end() ? 1 : found->second.line;
    throw_bad_input("{}:{}: {}: {}", file_, line, key.display.empty() ? "(top level)" : key.display,
                    what);
  }

 private:
  std::string file_;
  std::map<std::string, TextPosition> positions_;
};

const char* json_type(const ordered_json& value) {
  if (value.is_boolean()) return "a boolean";
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  if (value.is_object()) return "an object";
  return "null";
}

const char* expected(FlagKind kind) {
  switch (kind) {
    case FlagKind::kSwitch:
      return "true or false";
    case FlagKind::kInteger:
      return "an integer";
    case FlagKind::kUnsigned:
      return "an integer >= 0";
    case FlagKind::kNumber:
      return "a number";
    case FlagKind::kText:
      return "a string";
  }
  return "a value";
}

bool fits(FlagKind kind, const ordered_json& value) {
  switch (kind) {
    case FlagKind::kSwitch:
      return value.is_boolean();
    case FlagKind::kInteger:
      return value.is_number_integer();
    case FlagKind::kUnsigned:
      return value.is_number_unsigned();
    case FlagKind::kNumber:
      return value.is_number();
    case FlagKind::kText:  // a number is text too: --alpha 0.5
      return value.is_string() || value.is_number();
  }
  return false;
}

std::string shown(const ordered_json& value) {
  const std::string text = value.dump();
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

void check_flag_value(const GridReader& reader, const Key& key, const std::string& flag,
                      const ordered_json& value, const FlagCatalogue& catalogue) {
  const FlagKind kind = catalogue.flags.at(flag);
  if (!fits(kind, value)) {
    reader.fail(key, fmt::format("--{} takes {}, got {} ({})", flag, expected(kind),
                                 json_type(value), shown(value)));
  }
  if (kind == FlagKind::kSwitch || !catalogue.check) return;
  if (const std::optional<std::string> refused = catalogue.check(flag, flag_argument(value))) {
    reader.fail(key, *refused);
  }
}

void check_flag_name(const GridReader& reader, const Key& key, const std::string& command,
                     const std::string& flag, const FlagCatalogue& catalogue) {
  if (flag == "seed") reader.fail(key, "the seeds have their own key: \"seeds\": [0, 1, ...]");
  if (is_reserved_sweep_flag(flag)) {
    reader.fail(key, fmt::format("--{} is set by the sweep itself", flag));
  }
  if (catalogue.flags.count(flag) == 0) {
    reader.fail(key, fmt::format("gradscope {} has no flag --{}", command, flag));
  }
}

}  // namespace

bool is_reserved_sweep_flag(std::string_view flag) {
  static constexpr std::array<std::string_view, 4> kReserved = {"json", "log", "help", "seed"};
  for (std::string_view reserved : kReserved) {
    if (flag == reserved) return true;
  }
  return false;
}

std::string flag_argument(const ordered_json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

Grid parse_grid(std::string_view text, const std::string& file,
                const std::map<std::string, FlagCatalogue>& commands) {
  ordered_json document;
  try {
    document = ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based: the byte at which parsing stopped.
    const TextPosition at = position_of_offset(text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    const std::size_t colon = what.rfind(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    throw_bad_input("{}:{}:{}: malformed JSON: {}", file, at.line, at.column, what);
  }
  const GridReader reader(text, file);
  const Key root;
  if (!document.is_object()) {
    reader.fail(root, fmt::format("a grid is a JSON object, got {}", json_type(document)));
  }
  for (const auto& [name, value] : document.items()) {
    static const std::set<std::string> kKeys = {"command", "base", "axes", "seeds"};
    if (kKeys.count(name) == 0) {
      reader.fail(root.member(name),
                  "unknown key (a grid has \"command\", \"base\", \"axes\" and \"seeds\")");
    }
  }

  Grid grid;
  const Key command_key = root.member("command");
  if (!document.contains("command")) reader.fail(root, "missing \"command\"");
  const ordered_json& command = document["command"];
  if (!command.is_string()) {
    reader.fail(command_key, fmt::format("expected a string, got {}", json_type(command)));
  }
  grid.command = command.get<std::string>();
  const auto found = commands.find(grid.command);
  if (found == commands.end()) {
    std::string known;
    for (const auto& entry : commands) {
      if (!known.empty()) known += ", ";
      known += entry.first;
    }
    reader.fail(command_key,
                fmt::format("unknown command '{}' (a sweep runs {})", grid.command, known));
  }
  const FlagCatalogue& catalogue = found->second;

  std::set<std::string> seen;
  if (document.contains("base")) {
    const Key base_key = root.member("base");
    const ordered_json& base = document["base"];
    if (!base.is_object()) {
      reader.fail(base_key,
                  fmt::format("expected an object of flag: value, got {}", json_type(base)));
    }
    for (const auto& [flag, value] : base.items()) {
      const Key key = base_key.member(flag);
      check_flag_name(reader, key, grid.command, flag, catalogue);
      check_flag_value(reader, key, flag, value, catalogue);
      seen.insert(flag);
      grid.base.emplace_back(flag, value);
    }
  }

  if (document.contains("axes")) {
    const Key axes_key = root.member("axes");
    const ordered_json& axes = document["axes"];
    if (!axes.is_object()) {
      reader.fail(axes_key,
                  fmt::format("expected an object of flag: [values], got {}", json_type(axes)));
    }
    for (const auto& [flag, values] : axes.items()) {
      const Key key = axes_key.member(flag);
      check_flag_name(reader, key, grid.command, flag, catalogue);
      if (seen.count(flag) != 0) reader.fail(key, "this flag is already set in \"base\"");
      if (!values.is_array()) {
        reader.fail(key, fmt::format("an axis is a list of values, got {}", json_type(values)));
      }
      if (values.empty()) reader.fail(key, "an axis needs at least one value, got []");
      GridAxis axis;
      axis.name = flag;
      for (std::size_t i = 0; i < values.size(); ++i) {
        check_flag_value(reader, key.element(i), flag, values[i], catalogue);
        axis.values.push_back(values[i]);
      }
      grid.axes.push_back(std::move(axis));
    }
  }

  if (document.contains("seeds")) {
    const Key seeds_key = root.member("seeds");
    const ordered_json& seeds = document["seeds"];
    if (!seeds.is_array()) {
      reader.fail(seeds_key, fmt::format("expected a list of seeds, got {}", json_type(seeds)));
    }
    if (seeds.empty()) reader.fail(seeds_key, "at least one seed is needed, got []");
    std::set<std::uint64_t> distinct;
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      if (!seeds[i].is_number_unsigned()) {
        reader.fail(seeds_key.element(i), fmt::format("a seed is an integer >= 0, got {} ({})",
                                                      json_type(seeds[i]), shown(seeds[i])));
      }
      const std::uint64_t seed = seeds[i].get<std::uint64_t>();
      if (!distinct.insert(seed).second) reader.fail(seeds_key.element(i), "repeated seed");
      grid.seeds.push_back(seed);
    }
  } else {
    grid.seeds = {0};
  }
  return grid;
}

Grid read_grid(const std::filesystem::path& path,
               const std::map<std::string, FlagCatalogue>& commands) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_bad_input("{}: cannot read the grid file", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse_grid(text.str(), path.string(), commands);
}

}  // namespace gradscope
