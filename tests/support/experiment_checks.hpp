// Running an experiment as `experiment all --quick` runs it, and reading its result in tests.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "gradscope/experiments/experiment.hpp"

namespace gradscope::testing {

// Runs the named experiment in quick mode with seed 0 (its folder a temporary one), prints every
// verdict, and expects each to pass and the progress callback to end at its total.
ExperimentResult run_quick_experiment(const std::string& name);

// The table called `name`; throws when there is none.
const DataTable& result_table(const ExperimentResult& result, const std::string& name);

std::set<std::string> verdict_names(const ExperimentResult& result);

// The figures are exactly `expected`, in order, each with inline data.
void expect_figures(const ExperimentResult& result, const std::vector<std::string>& expected);

}  // namespace gradscope::testing
