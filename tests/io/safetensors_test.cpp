#include "gradscope/io/safetensors.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "io/safetensors_bytes.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

using testing::Bytes;
using testing::expect_bad_input;
using testing::f32_bytes;
using testing::file_bytes;
using testing::TempDir;

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

template <typename Scalar>
void expect_round_trip() {
  Rng rng(3);
  const Matrix<Scalar> weight = rng.normal_matrix<Scalar>(3, 2);
  const Matrix<Scalar> bias = rng.normal_matrix<Scalar>(3, 1);
  const Matrix<Scalar> row = rng.normal_matrix<Scalar>(1, 4);
  SafetensorsWriter writer;
  writer.add_matrix<Scalar>("0.weight", weight);
  writer.add_vector<Scalar>("0.bias", bias);
  writer.add_vector<Scalar>("row", row);
  writer.set_metadata("format", "pt");
  writer.set_metadata("note", "gradscope \xC3\xA9t\xC3\xA9");  // UTF-8 survives
  TempDir dir;
  writer.write(dir / "w.safetensors");

  const Safetensors file = read_safetensors(dir / "w.safetensors");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"0.bias", "0.weight", "row"}));
  EXPECT_TRUE(file.has("0.weight"));
  EXPECT_FALSE(file.has("0.weights"));
  EXPECT_EQ(file.shape("0.weight"), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(file.shape("0.bias"), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(file.shape("row"), (std::vector<std::int64_t>{4}));
  const SafetensorsDtype expected =
      std::is_same_v<Scalar, float> ? SafetensorsDtype::kF32 : SafetensorsDtype::kF64;
  EXPECT_EQ(file.dtype("0.weight"), expected);
  // Bit-exact: no conversion happens when the file and the matrix share the dtype.
  EXPECT_EQ(file.template matrix<Scalar>("0.weight", 3, 2), weight);
  EXPECT_EQ(file.template matrix<Scalar>("0.bias", 3, 1), bias);
  EXPECT_EQ(file.template matrix<Scalar>("row", 4, 1), row.transpose());
  EXPECT_EQ(file.template matrix<Scalar>("0.weight"), weight);
  EXPECT_EQ(file.metadata().size(), 2U);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "gradscope \xC3\xA9t\xC3\xA9");
}

TEST(Safetensors, RoundTripFloat) { expect_round_trip<float>(); }
TEST(Safetensors, RoundTripDouble) { expect_round_trip<double>(); }

TEST(Safetensors, WritesRowMajorDataAfterASortedPaddedHeader) {
  Matrix<float> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;  // m(i, j) = 3 i + j + 1: row-major order is 1..6
  SafetensorsWriter writer;
  writer.add_matrix<float>("w", m);
  const Bytes bytes = writer.serialize();

  const std::string json = R"({"w":{"data_offsets":[0,24],"dtype":"F32","shape":[2,3]}})";
  const std::size_t padded = (json.size() + 7) / 8 * 8;
  std::string header = json + std::string(padded - json.size(), ' ');
  const Bytes expected = file_bytes(header, f32_bytes({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(padded % 8, 0U);
  EXPECT_GT(padded, json.size());  // this header does need padding: the test covers it
}

TEST(Safetensors, ReadsTheReferenceImplementationsBytes) {
  // From huggingface/safetensors' own serialisation tests: "attn.0", F32 [1, 2, 3] = 0..5.
  const Bytes reference = {64,  0,   0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110,
                           46,  48,  34,  58,  123, 34,  100, 116, 121, 112, 101, 34,  58,  34,
                           70,  51,  50,  34,  44,  34,  115, 104, 97,  112, 101, 34,  58,  91,
                           49,  44,  50,  44,  51,  93,  44,  34,  100, 97,  116, 97,  95,  111,
                           102, 102, 115, 101, 116, 115, 34,  58,  91,  48,  44,  50,  52,  93,
                           125, 125, 0,   0,   0,   0,   0,   0,   128, 63,  0,   0,   0,   64,
                           0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
  const Safetensors file(reference, "reference");
  EXPECT_EQ(file.names(), std::vector<std::string>{"attn.0"});
  EXPECT_EQ(file.shape("attn.0"), (std::vector<std::int64_t>{1, 2, 3}));
  const SequenceData<double> data = file.sequence_matrix<double>("attn.0");
  EXPECT_EQ(data.batch, 1);
  EXPECT_EQ(data.steps, 2);
  EXPECT_EQ(data.features, 3);
  ASSERT_EQ(data.x.rows(), 3);
  ASSERT_EQ(data.x.cols(), 2);
  for (Index t = 0; t < 2; ++t) {
    for (Index i = 0; i < 3; ++i) EXPECT_EQ(data.x(i, t), static_cast<double>(3 * t + i));
  }
  expect_bad_input([&] { (void)file.matrix<float>("attn.0", 2, 3); },
                   "reference: tensor 'attn.0' has shape [1, 2, 3], expected [2, 3]");

  // The reference's empty files: no tensors, then no tensors with metadata {"framework": "pt"}.
  const Bytes empty = {8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32};
  EXPECT_TRUE(Safetensors(empty, "empty").names().empty());
  const Bytes with_metadata = {40,  0,   0,   0,   0,   0,   0,   0,   123, 34,  95,  95,
                               109, 101, 116, 97,  100, 97,  116, 97,  95,  95,  34,  58,
                               123, 34,  102, 114, 97,  109, 101, 119, 111, 114, 107, 34,
                               58,  34,  112, 116, 34,  125, 125, 32,  32,  32,  32,  32};
  const Safetensors metadata_only(with_metadata, "metadata");
  EXPECT_TRUE(metadata_only.names().empty());
  EXPECT_EQ(metadata_only.metadata().at("framework"), "pt");
}

// Python's json.dumps style (spaces, newlines), metadata first as the Rust writer puts it, keys
// in any order, data laid out in a different order than the names.
TEST(Safetensors, ReadsHeadersInAnyFormattingAndOrder) {
  const std::string header =
      "{\"__metadata__\": {\"format\": \"pt\"},\n"
      " \"z\": {\"shape\": [2], \"data_offsets\": [0, 8], \"dtype\": \"F32\"},\n"
      " \"a\": {\"data_offsets\": [8, 16], \"dtype\": \"F64\", \"shape\": [1, 1]}}   ";
  Bytes data = f32_bytes({1.5F, -2.0F});
  const Bytes tail = testing::f64_bytes({7.25});
  data.insert(data.end(), tail.begin(), tail.end());
  const Safetensors file(file_bytes(header, data), "py");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"a", "z"}));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.matrix<double>("z", 2, 1), (Matrix<double>(2, 1) << 1.5, -2.0).finished());
  EXPECT_EQ(file.matrix<float>("a", 1, 1)(0, 0), 7.25F);
}

TEST(Safetensors, TransposesIntoColumnMajorMatrices) {
  // A (2, 3) tensor written byte by byte: tensor[i][j] = 10 i + j.
  const Bytes bytes = file_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
                                 f32_bytes({0, 1, 2, 10, 11, 12}));
  const Matrix<double> m = Safetensors(bytes, "t").matrix<double>("w", 2, 3);
  for (Index i = 0; i < 2; ++i) {
    for (Index j = 0; j < 3; ++j) EXPECT_EQ(m(i, j), static_cast<double>(10 * i + j));
  }
}

TEST(Safetensors, ConvertsBetweenFloatAndDouble) {
  Matrix<float> single(1, 2);
  single << 0.1F, -3.0e38F;
  Matrix<double> twice(2, 1);
  twice << 0.1, 1.0e300;
  SafetensorsWriter writer;
  writer.add_matrix<float>("single", single);
  writer.add_matrix<double>("twice", twice);
  const Safetensors file(writer.serialize(), "mixed");
  EXPECT_EQ(file.dtype("single"), SafetensorsDtype::kF32);
  EXPECT_EQ(file.dtype("twice"), SafetensorsDtype::kF64);
  const Matrix<double> widened = file.matrix<double>("single", 1, 2);
  EXPECT_EQ(widened(0, 0), static_cast<double>(0.1F));  // exact widening, not 0.1
  EXPECT_NE(widened(0, 0), 0.1);
  EXPECT_EQ(widened(0, 1), static_cast<double>(-3.0e38F));
  const Matrix<float> narrowed = file.matrix<float>("twice", 2, 1);
  EXPECT_EQ(narrowed(0, 0), 0.1F);  // rounded to nearest
  EXPECT_TRUE(std::isinf(narrowed(1, 0)));
}

TEST(Safetensors, AlignsTensorsLargestElementFirst) {
  SafetensorsWriter writer;
  writer.add_matrix<float>("a", Matrix<float>::Ones(1, 3));  // 12 bytes
  writer.add_matrix<double>("b", Matrix<double>::Ones(1, 1));
  writer.add_matrix<double>("c", Matrix<double>::Ones(1, 1));
  const Bytes bytes = writer.serialize();
  const Safetensors file(bytes, "aligned");
  // F64 before F32 (then by name), so each starts at a multiple of its element size.
  EXPECT_EQ(file.entry("b").begin, 0U);
  EXPECT_EQ(file.entry("c").begin, 8U);
  EXPECT_EQ(file.entry("a").begin, 16U);
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | bytes[static_cast<std::size_t>(i)];
  EXPECT_EQ((8 + header) % 8, 0U);
  EXPECT_EQ(bytes.size(), 8 + header + 28);
}

TEST(Safetensors, SequenceTensorsRoundTripTimeMajor) {
  const Index batch = 2;
  const Index steps = 4;
  const Index features = 3;
  // x[b][t][i] = 100 b + 10 t + i, placed at column t * B + b.
  Matrix<double> x(features, steps * batch);
  for (Index b = 0; b < batch; ++b)
    for (Index t = 0; t < steps; ++t)
      for (Index i = 0; i < features; ++i)
        x(i, t * batch + b) = static_cast<double>(100 * b + 10 * t + i);
  SafetensorsWriter writer;
  writer.add_sequence<double>("x", x, batch);
  const Bytes bytes = writer.serialize();
  const Safetensors file(bytes, "seq");
  EXPECT_EQ(file.shape("x"), (std::vector<std::int64_t>{batch, steps, features}));
  // In the file, x[b][t][i] is element (b * T + t) * I + i: check a few raw positions.
  const std::uint64_t start = bytes.size() - static_cast<std::size_t>(x.size()) * 8;
  const auto raw = [&](std::uint64_t k) {
    std::uint64_t bits = 0;
    for (int i = 7; i >= 0; --i)
      bits = (bits << 8) | bytes[start + 8 * k + static_cast<unsigned>(i)];
    return std::bit_cast<double>(bits);
  };
  EXPECT_EQ(raw(0), 0.0);
  EXPECT_EQ(raw(1), 1.0);
  EXPECT_EQ(raw(3), 10.0);                     // b = 0, t = 1, i = 0
  EXPECT_EQ(raw((1 * 4 + 2) * 3 + 1), 121.0);  // b = 1, t = 2, i = 1
  const SequenceData<float> back = file.sequence_matrix<float>("x");
  EXPECT_EQ(back.batch, batch);
  EXPECT_EQ(back.steps, steps);
  EXPECT_EQ(back.features, features);
  EXPECT_EQ(back.x, x.cast<float>());
}

TEST(Safetensors, ShapeMustMatchWhatTheCallerExpects) {
  SafetensorsWriter writer;
  writer.add_matrix<float>("w", Matrix<float>::Zero(2, 3));
  writer.add_vector<float>("b", Matrix<float>::Zero(3, 1));
  const Safetensors file(writer.serialize(), "m.safetensors");
  EXPECT_EQ(file.matrix<float>("b", 3, 1).rows(), 3);
  expect_bad_input([&] { (void)file.matrix<float>("w", 3, 2); },
                   "m.safetensors: tensor 'w' has shape [2, 3], expected [3, 2]");
  expect_bad_input([&] { (void)file.matrix<float>("b", 1, 3); }, "has shape [3], expected [1, 3]");
  expect_bad_input([&] { (void)file.matrix<float>("b", 4, 1); }, "expected [4, 1] or [4]");
  expect_bad_input([&] { (void)file.sequence_matrix<float>("w"); }, "expected a 3-D");
  expect_bad_input([&] { (void)file.matrix<float>("nope", 1, 1); },
                   "m.safetensors: no tensor 'nope' (the file holds 2 tensors: b, w)");
}

TEST(Safetensors, OtherDtypesParseButAreNotReadAsMatrices) {
  const std::string header = R"({"steps":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                             R"("h":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})";
  const Safetensors file(file_bytes(header, testing::zeros(12)), "i.safetensors");
  EXPECT_EQ(file.dtype("steps"), SafetensorsDtype::kI64);
  EXPECT_EQ(file.dtype("h"), SafetensorsDtype::kBF16);
  EXPECT_TRUE(file.shape("steps").empty());
  expect_bad_input([&] { (void)file.matrix<double>("steps", 1, 1); },
                   "i.safetensors: tensor 'steps' has dtype I64; gradscope reads F32 and F64");
  expect_bad_input([&] { (void)file.matrix<float>("h"); }, "has dtype BF16");
}

TEST(Safetensors, ZeroDimensionalAndEmptyTensors) {
  const std::string header = R"({"s":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
                             R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]}})";
  const Safetensors file(file_bytes(header, testing::f64_bytes({2.5})), "z");
  EXPECT_EQ(file.matrix<double>("s")(0, 0), 2.5);
  EXPECT_EQ(file.matrix<double>("s", 1, 1)(0, 0), 2.5);
  const Matrix<float> empty = file.matrix<float>("e");
  EXPECT_EQ(empty.rows(), 0);
  EXPECT_EQ(empty.cols(), 3);
}

TEST(Safetensors, WriterLeavesNoTemporaryFileAndReplacesAtomically) {
  TempDir dir;
  SafetensorsWriter first;
  first.add_matrix<float>("w", Matrix<float>::Constant(2, 2, 1.0F));
  first.write(dir / "w.safetensors");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"w.safetensors"});
  SafetensorsWriter second;
  second.add_matrix<float>("w", Matrix<float>::Constant(2, 2, 2.0F));
  second.write(dir / "w.safetensors");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"w.safetensors"});
  EXPECT_EQ(read_safetensors(dir / "w.safetensors").matrix<float>("w", 2, 2)(1, 1), 2.0F);
  EXPECT_EQ(std::filesystem::status(dir / "w.safetensors").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::others_read);
}

// A write that fails half-way (here: the file size limit, as a full disk would) must leave the
// existing checkpoint exactly as it was, and no temporary file behind.
TEST(Safetensors, FailedWriteLeavesTheExistingFileUntouched) {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  {
    std::ofstream old(path, std::ios::binary);
    old << "the old checkpoint";
  }
  SafetensorsWriter writer;
  writer.add_matrix<float>("w", Matrix<float>::Ones(64, 64));  // 16 KiB

  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit small = saved;
  small.rlim_cur = 1024;
  void (*previous)(int) = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  std::string message;
  try {
    writer.write(path);
  } catch (const Error& error) {
    threw = true;
    message = error.what();
  }
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  std::signal(SIGXFSZ, previous);

  EXPECT_TRUE(threw);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("the target is unchanged"), std::string::npos) << message;
  EXPECT_EQ(testing::read_file(path), "the old checkpoint");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"w.safetensors"});
}

TEST(Safetensors, WriterPathProblemsAreBadInput) {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add_matrix<float>("w", Matrix<float>::Ones(2, 2));
  expect_bad_input([&] { writer.write(dir / "missing/w.safetensors"); },
                   "cannot create a file in " + (dir / "missing"));
  std::filesystem::create_directory(dir / "taken");
  expect_bad_input([&] { writer.write(dir / "taken"); }, "cannot rename");
  EXPECT_EQ(files_in(dir.path()), std::vector<std::string>{"taken"});
  EXPECT_TRUE(std::filesystem::is_empty(dir / "taken"));
}

TEST(Safetensors, WriterRejectsBadNamesAndShapes) {
  SafetensorsWriter writer;
  writer.add_matrix<float>("w", Matrix<float>::Ones(2, 2));
  expect_bad_input([&] { writer.add_matrix<float>("w", Matrix<float>::Ones(1, 1)); },
                   "tensor 'w' added twice");
  expect_bad_input([&] { writer.add_matrix<float>("", Matrix<float>::Ones(1, 1)); },
                   "cannot name a tensor");
  expect_bad_input([&] { writer.add_matrix<float>("__metadata__", Matrix<float>::Ones(1, 1)); },
                   "'__metadata__' cannot name a tensor");
  expect_bad_input([&] { writer.add_vector<float>("v", Matrix<float>::Ones(2, 2)); },
                   "tensor 'v' is 2x2, not a vector");
  expect_bad_input([&] { writer.add_sequence<float>("x", Matrix<float>::Ones(3, 5), 2); },
                   "5 columns, not a whole number of steps of batch 2");
  SafetensorsWriter bad_utf8;
  bad_utf8.add_matrix<float>("w\xFF", Matrix<float>::Ones(1, 1));
  expect_bad_input([&] { (void)bad_utf8.serialize(); }, "not valid UTF-8");
}

TEST(Safetensors, MissingFileAndDirectoryAreBadInput) {
  TempDir dir;
  expect_bad_input([&] { (void)read_safetensors(dir / "none.safetensors"); },
                   "none.safetensors: not found");
  expect_bad_input([&] { (void)read_safetensors(dir.path().string()); }, "is a directory");
}

}  // namespace
}  // namespace gradscope
