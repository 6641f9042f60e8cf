// LineAppender, the file under the run log and the sweep's results file: whole lines, a file
// started empty or cut to what a resumed run keeps, and errors that name the file.
#include "gradscope/core/line_appender.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "gradscope/core/error.hpp"
#include "support/shell.hpp"

namespace gradscope {
namespace {

TEST(LineAppender, StartsEmptyAndWritesWholeLines) {
  const testing::TempDir dir;
  const std::string path = dir / "log.jsonl";
  std::ofstream(path) << "left over from an earlier run\n";
  {
    LineAppender file(path, 0, "the log");
    file.append("{\"a\":1}");
    EXPECT_EQ(testing::read_file(path),
              "{\"a\":1}\n");  // written at once, not when the file closes
    file.append("{\"b\":2}");
    EXPECT_EQ(file.path(), path);
  }
  EXPECT_EQ(testing::read_file(path), "{\"a\":1}\n{\"b\":2}\n");
}

TEST(LineAppender, KeepsTheBytesItIsToldToAndAppendsAfterThem) {
  const testing::TempDir dir;
  const std::string path = dir / "results.jsonl";
  std::ofstream(path) << "one\ntwo\nthr";  // a line cut short by a kill
  {
    LineAppender file(path, 8, "--out results.jsonl");
    file.append("three");
  }
  EXPECT_EQ(testing::read_file(path), "one\ntwo\nthree\n");
}

TEST(LineAppender, AFileThatCannotBeOpenedIsBadInputNamingIt) {
  const testing::TempDir dir;
  try {
    LineAppender file((dir.path() / "no-such-folder" / "log.jsonl").string(), 0, "run log x.jsonl");
    FAIL() << "opened a file in a folder that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(std::string(e.what()), "run log x.jsonl: cannot open: No such file or directory");
  }
}

}  // namespace
}  // namespace gradscope
