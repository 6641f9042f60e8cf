// Static SVG copies of an experiment run's figures (for the README and for readers without a
// browser), rendered by report/render_svg.mjs with vega's Node API.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace gradscope {

// The first executable `program` in $PATH, if any.
std::optional<std::filesystem::path> find_on_path(std::string_view program);

// Runs `node ASSETS/render_svg.mjs ASSETS RUN_DIR`, which writes DIR/<experiment>/<figure>.svg
// for every figure. Returns false, doing nothing, when node is not on PATH; Runtime Error when
// render_svg.mjs is missing or fails (its own message goes to stderr).
bool render_svg_copies(const std::filesystem::path& assets_dir,
                       const std::filesystem::path& run_dir);

}  // namespace gradscope
