// A sweep's grid file (docs/sweeps.md): which gradscope command runs at every point, the flags
// every point shares ("base"), the axes and their values, and the seeds. JSON:
//
//   {"command": "probe",
//    "base": {"width": 16, "batch": 8},
//    "axes": {"depth": [2, 8], "act": ["tanh", "relu"]},
//    "seeds": [0, 1]}
//
// Flags are checked against what the command accepts (a FlagCatalogue built from its real
// command-line options): an unknown flag, an empty list, a value of the wrong JSON type or one
// the flag refuses is a bad-input Error "FILE:LINE: KEY: what is wrong" (one line).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gradscope {

// What a flag takes: a switch (--residual, true or false in a grid), or one value.
enum class FlagKind { kSwitch, kInteger, kUnsigned, kNumber, kText };

// The flags one command accepts, by name without dashes ("depth", "sigma-w2").
struct FlagCatalogue {
  std::map<std::string, FlagKind> flags;
  // The command's own check of one value ("--act", "foo"): an error message, or nothing when
  // the value is accepted. Optional.
  std::function<std::optional<std::string>(const std::string& flag, const std::string& value)>
      check;
};

// Flags a grid may not set: the sweep passes them itself (json, log), or they have their own
// key (seed: "seeds"), or they make no sense per point (help).
bool is_reserved_sweep_flag(std::string_view flag);

struct GridAxis {
  std::string name;                            // a flag name without dashes
  std::vector<nlohmann::ordered_json> values;  // non-empty
};

struct Grid {
  std::string command;                                               // probe, spectrum, train
  std::vector<std::pair<std::string, nlohmann::ordered_json>> base;  // in file order
  std::vector<GridAxis> axes;                                        // in file order
  std::vector<std::uint64_t> seeds;                                  // non-empty; default {0}
};

// Parses and checks a grid; `file` names it in errors; `commands` maps every command a sweep
// may run to its catalogue.
Grid parse_grid(std::string_view text, const std::string& file,
                const std::map<std::string, FlagCatalogue>& commands);
// Reads `path` and parses it (bad-input Error when it cannot be read).
Grid read_grid(const std::filesystem::path& path,
               const std::map<std::string, FlagCatalogue>& commands);

// A flag's value on a command line: strings as they are, numbers as JSON writes them.
std::string flag_argument(const nlohmann::ordered_json& value);

}  // namespace gradscope
