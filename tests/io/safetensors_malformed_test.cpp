// Hostile and damaged files: every problem is a bad-input Error naming the file, the tensor and
// what is wrong; nothing crashes or reads out of bounds (run under the asan build too).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/io/safetensors.hpp"
#include "io/safetensors_bytes.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

using testing::Bytes;
using testing::expect_bad_input;
using testing::file_bytes;
using testing::zeros;

struct Malformed {
  const char* what;
  Bytes bytes;
  std::string message;  // expected part of the error
};

// One tensor entry "name": {...} with the given fields (JSON text).
std::string tensor(const std::string& name, const std::string& fields) {
  return "\"" + name + "\":{" + fields + "}";
}

std::vector<Malformed> malformed_files() {
  const std::string f32_2x3 = R"("dtype":"F32","shape":[2,3],"data_offsets":[0,24])";
  std::vector<Malformed> cases = {
      {"shorter than 8 bytes", {1, 0, 0}, "w.safetensors: truncated: 3 bytes, too short"},
      {"empty file", {}, "w.safetensors: truncated: 0 bytes"},
      {"header length past the file", file_bytes("{}", {}, 1000),
       "w.safetensors: truncated: the header length is 1000 bytes but only 2 bytes follow"},
      {"absurd header length", file_bytes("{}", {}, std::uint64_t{1} << 40),
       "w.safetensors: the header length 1099511627776 exceeds the 100000000-byte limit"},
      {"header length 2^64 - 1", file_bytes("{}", {}, ~std::uint64_t{0} - 1), "exceeds"},
      {"zero header length", file_bytes("", {}), "does not start with '{'"},
      {"header is an array", file_bytes("[1,2]"), "w.safetensors: the header does not start"},
      {"header cut short", file_bytes(R"({"w":)"), "w.safetensors: the header is not valid JSON"},
      {"trailing garbage in the header", file_bytes("{}x"), "not valid JSON"},
      {"invalid UTF-8", file_bytes("{\"\xFF\":1}"), "not valid JSON"},
      {"entry is a number", file_bytes(R"({"w":3})"),
       "w.safetensors: tensor 'w': the header entry is 3 (number), expected an object"},
      {"missing dtype",
       file_bytes("{" + tensor("0.weight", R"("shape":[2,3],"data_offsets":[0,24])") + "}",
                  zeros(24)),
       "w.safetensors: tensor '0.weight': missing 'dtype'"},
      {"missing shape",
       file_bytes("{" + tensor("w", R"("dtype":"F32","data_offsets":[0,24])") + "}", zeros(24)),
       "tensor 'w': missing 'shape'"},
      {"missing data_offsets",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3])") + "}", zeros(24)),
       "tensor 'w': missing 'data_offsets'"},
      {"dtype is a number",
       file_bytes("{" + tensor("w", R"("dtype":32,"shape":[2,3],"data_offsets":[0,24])") + "}",
                  zeros(24)),
       "tensor 'w': 'dtype' is 32 (number), expected a string"},
      {"unknown dtype",
       file_bytes("{" + tensor("w", R"("dtype":"F12","shape":[2,3],"data_offsets":[0,24])") + "}",
                  zeros(24)),
       "tensor 'w': unknown dtype 'F12'"},
      {"shape is a string",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":"2x3","data_offsets":[0,24])") + "}",
                  zeros(24)),
       "tensor 'w': 'shape' is \"2x3\" (string), expected an array"},
      {"negative shape entry",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,-3],"data_offsets":[0,24])") + "}",
                  zeros(24)),
       "tensor 'w': shape entry 1 is -3 (number), expected a non-negative integer"},
      {"non-integer shape entry",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2.5],"data_offsets":[0,8])") + "}",
                  zeros(8)),
       "tensor 'w': shape entry 0 is 2.5 (a non-integer number)"},
      {"shape entry is an array",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[[2]],"data_offsets":[0,8])") + "}",
                  zeros(8)),
       "shape entry 0 is an array of 1 elements"},
      {"shape product overflows",
       file_bytes("{" +
                      tensor("w", R"("dtype":"F32","shape":[4294967296,4294967296,2],)"
                                  R"("data_offsets":[0,8])") +
                      "}",
                  zeros(8)),
       "tensor 'w': shape entry 1 (4294967296) makes the element count overflow 64 bits"},
      {"shape entry beyond int64",
       file_bytes("{" +
                      tensor("w", R"("dtype":"F32","shape":[18446744073709551615],)"
                                  R"("data_offsets":[0,8])") +
                      "}",
                  zeros(8)),
       "shape entry 0 (18446744073709551615) is larger than 2^63 - 1"},
      {"byte count overflows",
       file_bytes("{" +
                      tensor("w", R"("dtype":"F32","shape":[2305843009213693952,4],)"
                                  R"("data_offsets":[0,8])") +
                      "}",
                  zeros(8)),
       "needs more bytes than 64 bits can count"},
      {"data_offsets too short",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3],"data_offsets":[24])") + "}",
                  zeros(24)),
       "tensor 'w': 'data_offsets' is an array of 1 elements, expected [begin, end]"},
      {"data_offsets negative",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3],"data_offsets":[-1,23])") + "}",
                  zeros(24)),
       "'data_offsets' is an array of 2 elements"},
      {"data_offsets hold a string",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3],"data_offsets":[0,"24"])") + "}",
                  zeros(24)),
       "'data_offsets' is an array of 2 elements"},
      {"begin after end",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3],"data_offsets":[24,0])") + "}",
                  zeros(24)),
       "tensor 'w': data_offsets [24, 0] begin after they end"},
      {"end past the buffer",
       file_bytes(
           "{" + tensor("0.weight", R"("dtype":"F32","shape":[10,10],"data_offsets":[0,400])") +
               "}",
           zeros(256)),
       "w.safetensors: tensor '0.weight': data_offsets [0, 400] end past the 256-byte data "
       "buffer"},
      {"bytes do not match the shape",
       file_bytes("{" + tensor("w", R"("dtype":"F32","shape":[2,3],"data_offsets":[0,20])") + "}",
                  zeros(20)),
       "tensor 'w': data_offsets [0, 20] hold 20 bytes but shape [2, 3] of F32 needs 24"},
      {"overlapping tensors",
       file_bytes("{" + tensor("a", R"("dtype":"F32","shape":[4],"data_offsets":[0,16])") + "," +
                      tensor("b", R"("dtype":"F32","shape":[4],"data_offsets":[8,24])") + "}",
                  zeros(24)),
       "tensor 'b': data_offsets [8, 24] overlap tensor 'a' (which ends at 16)"},
      {"the same range twice",
       file_bytes("{" + tensor("a", R"("dtype":"F32","shape":[4],"data_offsets":[0,16])") + "," +
                      tensor("b", R"("dtype":"F32","shape":[4],"data_offsets":[0,16])") + "}",
                  zeros(16)),
       "tensor 'b': data_offsets [0, 16] overlap tensor 'a'"},
      {"a hole between tensors",
       file_bytes("{" + tensor("a", R"("dtype":"F32","shape":[2],"data_offsets":[0,8])") + "," +
                      tensor("b", R"("dtype":"F32","shape":[2],"data_offsets":[16,24])") + "}",
                  zeros(24)),
       "bytes [8, 16) of the data buffer belong to no tensor"},
      {"trailing data",
       file_bytes("{" + tensor("a", R"("dtype":"F32","shape":[2],"data_offsets":[0,8])") + "}",
                  zeros(16)),
       "the data buffer has 16 bytes but the tensors end at byte 8"},
      {"duplicate tensor names",
       file_bytes("{" + tensor("w", f32_2x3) + "," + tensor("w", f32_2x3) + "}", zeros(24)),
       "w.safetensors: the header names 'w' twice (safetensors forbids duplicate keys)"},
      {"duplicate key inside an entry",
       file_bytes("{" + tensor("w", R"("dtype":"F64",)" + f32_2x3) + "}", zeros(24)),
       "key 'dtype' appears twice inside 'w'"},
      {"metadata is a list", file_bytes(R"({"__metadata__":["pt"]})"),
       "w.safetensors: '__metadata__' is an array of 1 elements, expected an object of strings"},
      {"metadata value is a number", file_bytes(R"({"__metadata__":{"epoch":3}})"),
       "'__metadata__' entry 'epoch' is 3 (number), expected a string"},
  };
  // Nesting a million arrays deep must not overflow the stack (parsing, messages, destruction).
  const std::string deep = R"({"w":)" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  cases.push_back({"deeply nested", file_bytes(deep), "tensor 'w': the header entry is an array"});
  return cases;
}

TEST(SafetensorsMalformed, EachProblemIsBadInputWithAClearMessage) {
  for (const Malformed& c : malformed_files()) {
    SCOPED_TRACE(c.what);
    expect_bad_input([&] { Safetensors file(c.bytes, "w.safetensors"); }, c.message);
  }
}

// A valid file with metadata, F32 and F64 tensors of 1, 2 and 3 dimensions.
Bytes valid_file() {
  Rng rng(11);
  SafetensorsWriter writer;
  writer.add_matrix<float>("0.weight", rng.normal_matrix<float>(3, 2));
  writer.add_vector<float>("0.bias", rng.normal_matrix<float>(3, 1));
  writer.add_matrix<double>("1.weight", rng.normal_matrix<double>(2, 3));
  writer.add_sequence<float>("x", rng.normal_matrix<float>(2, 6), 2);
  writer.set_metadata("format", "pt");
  return writer.serialize();
}

TEST(SafetensorsMalformed, TruncatedFilesAreBadInput) {
  testing::TempDir dir;
  const Bytes whole = valid_file();
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | whole[static_cast<std::size_t>(i)];
  const std::string path = dir / "cut.safetensors";
  // Cuts in the length field, in the header, at its end, and in the data.
  for (const std::size_t length :
       {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{8 + header / 2},
        std::size_t{8 + header}, whole.size() - 1}) {
    SCOPED_TRACE(length);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(whole.data()), static_cast<std::streamsize>(length));
    }
    expect_bad_input([&] { (void)read_safetensors(path); }, path + ": ");
  }
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(whole.data()),
              static_cast<std::streamsize>(whole.size()));
  }
  EXPECT_EQ(read_safetensors(path).names().size(), 4U);
}

// Reads everything a file offers; any failure must be a gradscope::Error.
void read_everything(const Safetensors& file) {
  for (const std::string& name : file.names()) {
    (void)file.shape(name);
    if (file.shape(name).size() == 3) {
      (void)file.sequence_matrix<double>(name);
    } else {
      (void)file.matrix<float>(name);
    }
  }
}

// libFuzzer-style robustness: seeded random mutations of a valid file either parse (and then read
// without trouble) or throw gradscope::Error; never crash, never another exception.
TEST(SafetensorsMalformed, RandomMutationsParseOrThrowError) {
  const Bytes valid = valid_file();
  Rng rng(2024);
  int parsed = 0;
  int rejected = 0;
  for (int round = 0; round < 2000; ++round) {
    Bytes bytes = valid;
    const std::uint64_t edits = 1 + rng.below(4);
    for (std::uint64_t e = 0; e < edits; ++e) {
      const std::size_t at = bytes.empty() ? 0 : rng.below(bytes.size());
      switch (rng.below(7)) {
        case 0:  // overwrite a byte
          if (!bytes.empty()) bytes[at] = static_cast<std::uint8_t>(rng.below(256));
          break;
        case 1:  // flip a bit
          if (!bytes.empty()) bytes[at] ^= static_cast<std::uint8_t>(1U << rng.below(8));
          break;
        case 2:  // truncate
          bytes.resize(at);
          break;
        case 3:  // insert a byte
          bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                       static_cast<std::uint8_t>(rng.below(256)));
          break;
        case 4:  // delete a byte
          if (!bytes.empty()) bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
          break;
        case 5: {  // change a digit of the header: shapes and offsets, the interesting numbers
          std::vector<std::size_t> digits;
          for (std::size_t i = 8; i < std::min<std::size_t>(bytes.size(), 8 + 400); ++i) {
            if (bytes[i] >= '0' && bytes[i] <= '9') digits.push_back(i);
          }
          if (!digits.empty()) {
            bytes[digits[rng.below(digits.size())]] =
                static_cast<std::uint8_t>('0' + rng.below(10));
          }
          break;
        }
        default:  // corrupt the header length
          if (bytes.size() >= 8) bytes[rng.below(8)] = static_cast<std::uint8_t>(rng.below(256));
          break;
      }
    }
    try {
      const Safetensors file(bytes, "fuzz");
      ++parsed;
      try {
        read_everything(file);
      } catch (const Error&) {
        // e.g. a dtype changed to I32: refused when read as a matrix
      }
    } catch (const Error& error) {
      ++rejected;
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << "round " << round << ": " << error.what();
    } catch (const std::exception& error) {
      ADD_FAILURE() << "round " << round << ": not a gradscope::Error: " << error.what();
    }
  }
  // Both outcomes occur, so the loop exercised the accept path as well as the checks.
  EXPECT_GT(parsed, 20);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace gradscope
