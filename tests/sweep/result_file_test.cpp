#include "gradscope/sweep/result_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "gradscope/core/error.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

using ordered_json = nlohmann::ordered_json;

std::vector<SweepPoint> three_points() {
  Grid grid;
  grid.command = "probe";
  grid.axes = {GridAxis{"depth", {ordered_json(2), ordered_json(3), ordered_json(4)}}};
  grid.seeds = {0};
  return enumerate_points(grid);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ResultFile, MissingFileIsEmpty) {
  const testing::TempDir dir;
  const ResultFile file = read_result_file(dir / "none.jsonl");
  EXPECT_TRUE(file.records.empty());
  EXPECT_EQ(file.complete_bytes, 0u);
}

TEST(ResultFile, AppendsReadsBackAndDropsAPartialLastLine) {
  const testing::TempDir dir;
  const std::string path = dir / "r.jsonl";
  const std::vector<SweepPoint> points = three_points();
  {
    ResultAppender appender(path, 0);
    appender.append(ok_record("probe", points[2], {{"loss", 1.5}}));
    appender.append(failed_record("probe", points[0], "bad settings"));
  }
  const std::string complete = testing::read_file(path);
  write_text(path, complete + R"({"point":1,"command":"probe","sett)");  // a write cut short
  const ResultFile file = read_result_file(path);
  ASSERT_EQ(file.records.size(), 2u);
  EXPECT_TRUE(file.dropped_partial_line);
  EXPECT_EQ(file.complete_bytes, complete.size());
  EXPECT_EQ(file.records[0]["status"], "ok");
  EXPECT_EQ(file.records[1]["reason"], "bad settings");

  std::vector<bool> done = completed_points(file, path, "probe", points, false);
  EXPECT_EQ(done, (std::vector<bool>{true, false, true}));
  done = completed_points(file, path, "probe", points, true);  // --retry-failed
  EXPECT_EQ(done, (std::vector<bool>{false, false, true}));

  // Appending again starts at the end of the last complete line.
  {
    ResultAppender appender(path, file.complete_bytes);
    appender.append(ok_record("probe", points[1], {{"loss", 2.0}}));
  }
  const ResultFile again = read_result_file(path);
  EXPECT_FALSE(again.dropped_partial_line);
  ASSERT_EQ(again.records.size(), 3u);
  EXPECT_EQ(again.records[2]["point"], 1);
}

TEST(ResultFile, RecordsOfAnotherGridAreRefused) {
  const testing::TempDir dir;
  const std::string path = dir / "r.jsonl";
  const std::vector<SweepPoint> points = three_points();
  SweepPoint other = points[1];
  other.settings["depth"] = 30;
  {
    ResultAppender appender(path, 0);
    appender.append(ok_record("probe", other, {{"loss", 1.0}}));
  }
  const ResultFile file = read_result_file(path);
  try {
    completed_points(file, path, "probe", points, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("point 1 was recorded with other settings"));
  }
  EXPECT_THROW(completed_points(file, path, "train", {points[0], points[1]}, false), Error);
}

TEST(ResultFile, ALineThatIsNoRecordIsRefusedWithItsLine) {
  const testing::TempDir dir;
  const std::string path = dir / "r.jsonl";
  write_text(path, "{\"point\":0,\"settings\":{},\"status\":\"ok\"}\nhello\n");
  try {
    read_result_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("r.jsonl:2: not a sweep result line"));
  }
}

TEST(ResultFile, SortedRewriteKeepsOneRecordPerPointInOrder) {
  const testing::TempDir dir;
  const std::string path = dir / "r.jsonl";
  const std::vector<SweepPoint> points = three_points();
  const std::vector<ordered_json> records = {
      ok_record("probe", points[2], {{"loss", 3}}), failed_record("probe", points[0], "x"),
      ok_record("probe", points[0], {{"loss", 1}}), ok_record("probe", points[1], {{"loss", 2}})};
  write_sorted_results(path, records);
  const std::vector<std::string> lines = testing::read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            R"({"point":0,"command":"probe","settings":{"depth":2,"seed":0},"status":"ok",)"
            R"("result":{"loss":1}})");
  EXPECT_EQ(ordered_json::parse(lines[1])["point"], 1);
  EXPECT_EQ(ordered_json::parse(lines[2])["point"], 2);
}

}  // namespace
}  // namespace gradscope
