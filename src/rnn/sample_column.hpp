// One sample's slice of a gate, state or gradient column, for the cells' per-sample loops.
//
// A step's gates (4H x batch floats: 128 KiB at H = 128, batch 64) do not stay in L1 between
// whole-block Eigen passes; one sample's (4H: 2 KiB) do. So the LSTM's and GRU's elementwise
// work after each step's matrix product goes sample by sample (the RNN's is one pass anyway).
#pragma once

#include "gradscope/core/types.hpp"

namespace gradscope {

template <typename Scalar>
using SampleColumn = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
template <typename Scalar>
using ConstSampleColumn = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;

}  // namespace gradscope
