#include "gradscope/sweep/grid.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gradscope/core/error.hpp"
#include "gradscope/sweep/json_position.hpp"

namespace gradscope {
namespace {

std::map<std::string, FlagCatalogue> test_commands() {
  FlagCatalogue probe;
  probe.flags = {{"depth", FlagKind::kInteger},   {"width", FlagKind::kInteger},
                 {"act", FlagKind::kText},        {"sigma-w2", FlagKind::kNumber},
                 {"residual", FlagKind::kSwitch}, {"seed", FlagKind::kUnsigned},
                 {"json", FlagKind::kSwitch},     {"alpha", FlagKind::kText}};
  probe.check = [](const std::string& flag,
                   const std::string& value) -> std::optional<std::string> {
    if (flag == "act" && value != "tanh" && value != "relu") return "--act: " + value + " not in";
    return std::nullopt;
  };
  return {{"probe", probe}, {"train", probe}};
}

// The bad-input message parse_grid throws for `text`.
std::string grid_error(const std::string& text) {
  try {
    parse_grid(text, "g.json", test_commands());
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no error for " << text;
  return {};
}

TEST(Grid, ParsesCommandBaseAxesAndSeedsInFileOrder) {
  const Grid grid = parse_grid(R"({"command": "probe", "base": {"width": 8, "residual": true},
      "axes": {"depth": [2, 4], "act": ["tanh", "relu"], "sigma-w2": [1, 1.5]},
      "seeds": [3, 1]})",
                               "g.json", test_commands());
  EXPECT_EQ(grid.command, "probe");
  ASSERT_EQ(grid.base.size(), 2u);
  EXPECT_EQ(grid.base[0].first, "width");
  EXPECT_EQ(grid.base[1].first, "residual");
  ASSERT_EQ(grid.axes.size(), 3u);
  EXPECT_EQ(grid.axes[0].name, "depth");
  EXPECT_EQ(grid.axes[1].name, "act");
  EXPECT_EQ(grid.axes[2].name, "sigma-w2");
  EXPECT_EQ(grid.axes[2].values[1], 1.5);
  EXPECT_EQ(grid.seeds, (std::vector<std::uint64_t>{3, 1}));
}

TEST(Grid, SeedsDefaultToZeroAndAxesAreOptional) {
  const Grid grid = parse_grid(R"({"command": "probe"})", "g.json", test_commands());
  EXPECT_TRUE(grid.axes.empty());
  EXPECT_EQ(grid.seeds, (std::vector<std::uint64_t>{0}));
}

TEST(Grid, UnknownAxisNamesKeyAndLine) {
  const std::string error = grid_error(
      "{\n  \"command\": \"probe\",\n  \"axes\": {\n    \"depth\": [2],\n    \"detph\": [3]\n  "
      "}\n}");
  EXPECT_THAT(error, ::testing::HasSubstr("g.json:5: axes.detph:"));
  EXPECT_THAT(error, ::testing::HasSubstr("no flag --detph"));
}

TEST(Grid, EmptyValuesNameKeyAndLine) {
  const std::string error =
      grid_error("{\"command\": \"probe\",\n\"axes\": {\"depth\": [2],\n \"act\": []}}");
  EXPECT_THAT(error, ::testing::HasSubstr("g.json:3: axes.act:"));
  EXPECT_THAT(error, ::testing::HasSubstr("at least one value"));
}

TEST(Grid, TypeErrorsNameTheElementAndLine) {
  EXPECT_THAT(grid_error("{\"command\": \"probe\",\n\"axes\": {\"depth\": [2,\n \"3\"]}}"),
              ::testing::HasSubstr("g.json:3: axes.depth[1]: --depth takes an integer, got a "
                                   "string (\"3\")"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"axes\": {\"depth\": 4}}"),
              ::testing::HasSubstr("g.json:1: axes.depth: an axis is a list of values"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"axes\": {\"depth\": [2.5]}}"),
              ::testing::HasSubstr("axes.depth[0]: --depth takes an integer, got a number"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"axes\": {\"sigma-w2\": [\"1\"]}}"),
              ::testing::HasSubstr("--sigma-w2 takes a number, got a string"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"axes\": {\"residual\": [1]}}"),
              ::testing::HasSubstr("--residual takes true or false"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"base\": [1]}"),
              ::testing::HasSubstr("g.json:1: base: expected an object"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\",\n \"seeds\": [0, -1]}"),
              ::testing::HasSubstr("g.json:2: seeds[1]: a seed is an integer >= 0"));
  EXPECT_THAT(grid_error("{\"command\": 3}"),
              ::testing::HasSubstr("g.json:1: command: expected a string, got an integer"));
}

TEST(Grid, NumbersAreTextForTextFlags) {
  const Grid grid = parse_grid(R"({"command": "probe", "axes": {"alpha": [0.5, "rezero"]}})",
                               "g.json", test_commands());
  EXPECT_EQ(flag_argument(grid.axes[0].values[0]), "0.5");
  EXPECT_EQ(flag_argument(grid.axes[0].values[1]), "rezero");
}

TEST(Grid, ValuesTheFlagRefusesAreErrors) {
  EXPECT_THAT(grid_error("{\"command\": \"probe\",\n\"axes\": {\"act\": [\"tanh\", \"foo\"]}}"),
              ::testing::HasSubstr("g.json:2: axes.act[1]: --act: foo"));
}

TEST(Grid, UnknownCommandNamesKeyAndLine) {
  const std::string error = grid_error("{\n\"command\": \"phase\"}");
  EXPECT_THAT(error, ::testing::HasSubstr("g.json:2: command: unknown command 'phase'"));
  EXPECT_THAT(error, ::testing::HasSubstr("probe, train"));
}

TEST(Grid, UnknownTopLevelKeyAndReservedFlags) {
  EXPECT_THAT(grid_error("{\"command\": \"probe\",\n\"axis\": {}}"),
              ::testing::HasSubstr("g.json:2: axis: unknown key"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"axes\": {\"seed\": [1]}}"),
              ::testing::HasSubstr("axes.seed: the seeds have their own key"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"base\": {\"json\": true}}"),
              ::testing::HasSubstr("base.json: --json is set by the sweep itself"));
  EXPECT_THAT(grid_error("{\"command\": \"probe\", \"base\": {\"depth\": 2}, \"axes\": "
                         "{\"depth\": [3]}}"),
              ::testing::HasSubstr("axes.depth: this flag is already set in \"base\""));
  EXPECT_THAT(grid_error("[1, 2]"), ::testing::HasSubstr("g.json:1: (top level): a grid is a "
                                                         "JSON object"));
}

TEST(Grid, MalformedJsonGivesLineAndColumn) {
  const std::string error = grid_error("{\"command\": \"probe\",\n  \"axes\": {\"depth\": [2 3]}}");
  EXPECT_THAT(error, ::testing::HasSubstr("g.json:2:"));
  EXPECT_THAT(error, ::testing::HasSubstr("malformed JSON"));
}

TEST(JsonPosition, OffsetsAndPointers) {
  EXPECT_EQ(position_of_offset("ab\ncd", 4).line, 2);
  EXPECT_EQ(position_of_offset("ab\ncd", 4).column, 2);
  const auto positions =
      json_value_positions("{\"a\": [1,\n  {\"b/c\": 2}],\n \"d~\": \"x\\\"y\"}");
  EXPECT_EQ(positions.at("/a").line, 1);
  EXPECT_EQ(positions.at("/a/1").line, 2);
  EXPECT_EQ(positions.at("/a/1").column, 3);
  EXPECT_EQ(positions.at("/a/1/b~1c").line, 2);
  EXPECT_EQ(positions.at("/d~0").line, 3);
}

}  // namespace
}  // namespace gradscope
