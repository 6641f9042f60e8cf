// Where things sit in a JSON text, so that an error about a grid file can name its line.
// nlohmann-json keeps no positions, so a small scanner walks the (already validated) text once
// and records, for every member and element, the line and column where it starts.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace gradscope {

struct TextPosition {
  long line = 1;    // 1-based
  long column = 1;  // 1-based, in bytes
};

// The line and column of byte `offset` of `text` (an offset past the end is the end).
TextPosition position_of_offset(std::string_view text, std::size_t offset);

// Every value of a well-formed JSON text by its JSON pointer ("" the root, "/axes/depth/1"): for
// an object member the position of its key, for an array element the start of the element.
// The text must already have parsed (nlohmann::json::parse); behaviour on malformed text is to
// stop early, never to read out of bounds.
std::map<std::string, TextPosition> json_value_positions(std::string_view text);

}  // namespace gradscope
