// Building safetensors files byte by byte for the tests, independently of the writer under test.
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/io/safetensors.hpp"

namespace gradscope::testing {

using Bytes = std::vector<std::uint8_t>;

inline void append_u64_le(Bytes& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

inline Bytes f32_bytes(std::initializer_list<float> values) {
  Bytes out;
  for (const float value : values) {
    const auto bits = std::bit_cast<std::uint32_t>(value);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  return out;
}

inline Bytes f64_bytes(std::initializer_list<double> values) {
  Bytes out;
  for (const double value : values) append_u64_le(out, std::bit_cast<std::uint64_t>(value));
  return out;
}

// The header length (the real one unless `declared` overrides it), the header text, the data.
inline Bytes file_bytes(const std::string& header, const Bytes& data = {},
                        std::uint64_t declared = ~std::uint64_t{0}) {
  Bytes out;
  append_u64_le(out, declared == ~std::uint64_t{0} ? header.size() : declared);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

inline Bytes zeros(std::size_t count) { return Bytes(count, 0); }

// Expects a bad-input Error whose message holds `part`.
template <typename Body>
void expect_bad_input(Body body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
        << "'" << part << "' not in: " << error.what();
  }
}

}  // namespace gradscope::testing
