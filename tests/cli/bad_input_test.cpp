// Bad input gets one line naming the flag or file, exit code 2, and no output file.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/shell.hpp"

namespace gradscope {
namespace {

struct BadInput {
  std::string name;
  std::string args;          // after "gradscope", with LOG standing for the log path
  std::string must_mention;  // the flag or file named in the message
};

void PrintTo(const BadInput& input, std::ostream* out) { *out << input.name; }

class BadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputTest, OneLineExitTwoNoOutputFile) {
  testing::TempDir dir;
  const std::string log = dir / "run.jsonl";
  std::string args = GetParam().args;
  if (const std::size_t at = args.find("LOG"); at != std::string::npos) args.replace(at, 3, log);
  const testing::ShellResult r =
      testing::run_shell("cd " + dir.path().string() + " && " + GRADSCOPE_CLI_PATH + " " + args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(GetParam().must_mention), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(std::filesystem::exists(log)) << "a refused run must not create its log";
  EXPECT_FALSE(std::filesystem::exists(dir / "runs")) << "nor a default log directory";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInputTest,
    ::testing::Values(
        BadInput{"DepthZero", "train --depth 0 --log LOG", "--depth"},
        BadInput{"WidthZero", "probe --width 0", "--width"},
        BadInput{"UnknownActivation", "train --act swish --log LOG", "--act"},
        BadInput{"UnknownInit", "probe --init lecun", "--init"},
        BadInput{"UnknownFlag", "train --depht 3 --log LOG", "--depht"},
        BadInput{"NegativeLearningRate", "train --lr -1 --log LOG", "--lr"},
        BadInput{"ZeroClip", "train --clip 0 --log LOG", "--clip"},
        BadInput{"SigmaWithOtherInit", "train --init he --sigma-w2 2 --log LOG", "--sigma-w2"},
        BadInput{"OrthogonalGainAndSigma",
                 "train --init orthogonal --gain 2 --sigma-w2 2 --log LOG", "--gain"},
        BadInput{"TooBigForMemory", "train --depth 100000 --width 100000 --log LOG", "GiB"},
        BadInput{"MissingDataset",
                 "train --task fashion-mnist --data-dir /nonexistent/fmnist --log LOG",
                 "/nonexistent/fmnist"},
        BadInput{"UnwritableLog",
                 "train --steps 2 --width 8 --depth 2 --log /nonexistent/dir/run.jsonl",
                 "/nonexistent/dir/run.jsonl"},
        BadInput{"FashionWithWrongInputs", "train --task fashion-mnist --inputs 5 --log LOG",
                 "--inputs"},
        BadInput{"RegimesTooBig", "probe --regimes --width 10000000 --depth 1000", "GiB"},
        BadInput{"SequenceTaskForAnMlp", "train --task adding --log LOG", "--model rnn"},
        BadInput{"FlatTaskForAnRnn", "train --model gru --task teacher --log LOG",
                 "--task teacher"},
        BadInput{"ForgetBiasOnAGru", "train --model gru --forget-bias 1 --log LOG", "forget-bias"},
        BadInput{"AlphaNotANumber", "train --residual --alpha big --log LOG", "--alpha"},
        BadInput{"RecurrentTooBig", "train --model lstm --hidden 100000 --seq 100000 --log LOG",
                 "GiB"},
        BadInput{"UnknownRecurrentInit", "train --model rnn --init xavier --log LOG", "--init"},
        BadInput{"SaveIntoMissingDirectory",
                 "train --steps 1 --depth 2 --width 4 --save-weights /nonexistent/w.safetensors "
                 "--log LOG",
                 "/nonexistent"},
        BadInput{"NoCommand", "", "subcommand"}),
    [](const ::testing::TestParamInfo<BadInput>& case_info) { return case_info.param.name; });

}  // namespace
}  // namespace gradscope
