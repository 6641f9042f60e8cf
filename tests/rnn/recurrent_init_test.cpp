#include "gradscope/rnn/recurrent_init.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "gradscope/core/error.hpp"
#include "gradscope/init/spectral_radius.hpp"
#include "rnn/recurrent_test_util.hpp"

namespace gradscope {
namespace {

constexpr Index kInputs = 3;
constexpr Index kHidden = 16;

TEST(RecurrentInit, PytorchDefaultDrawsEveryParameterWithinOneOverSqrtHidden) {
  for (CellKind kind : testing::kAllCells) {
    auto layer = make_recurrent_layer<double>(kind, kInputs, kHidden);
    Rng rng(1);
    init_pytorch_default(*layer, rng);
    const double bound = 1.0 / std::sqrt(static_cast<double>(kHidden));
    for (const Param<double>& p : layer->params()) {
      EXPECT_LE(p.value->cwiseAbs().maxCoeff(), bound) << p.name;
      // Spread over the interval (4 x 16 values at least): not a constant, not a narrower law.
      EXPECT_GT(p.value->maxCoeff(), 0.5 * bound) << p.name;
      EXPECT_LT(p.value->minCoeff(), -0.5 * bound) << p.name;
    }
    EXPECT_GT((layer->bias_ih() - layer->bias_hh()).cwiseAbs().maxCoeff(), 0.0)
        << "each parameter is drawn on its own";
  }
}

TEST(RecurrentInit, ForgetBiasIsTheTotalBiasOfTheForgetGate) {
  LstmLayer<double> lstm(kInputs, kHidden);
  Rng rng(2);
  init_pytorch_default(lstm, rng);
  const Matrix<double> bias_ih = lstm.bias_ih();
  set_forget_bias(lstm, 1.0);
  EXPECT_TRUE((lstm.bias_ih().middleRows(kHidden, kHidden).array() == 1.0).all());
  EXPECT_TRUE(lstm.bias_hh().middleRows(kHidden, kHidden).isZero(0.0));
  EXPECT_EQ(lstm.bias_ih().topRows(kHidden), bias_ih.topRows(kHidden));
  EXPECT_EQ(lstm.bias_ih().bottomRows(2 * kHidden), bias_ih.bottomRows(2 * kHidden));

  // With no weights the forget gate sees exactly that bias: f = sigma(1).
  lstm.weight_ih().setZero();
  lstm.weight_hh().setZero();
  RecurrentRecord<double> record;
  RecurrentState<double> final_state;
  lstm.forward(Matrix<double>::Ones(kInputs, 2), lstm.zero_state(2), record, final_state);
  const double sigma1 = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(*lstm.mean_keep_gate(record, 0), sigma1, 1e-15);

  RecurrentStack<double> gru(CellKind::kGru, kInputs, kHidden, 1);
  EXPECT_THROW(set_forget_bias(gru, 1.0), Error);
  RecurrentStack<double> stack(CellKind::kLstm, kInputs, kHidden, 2);
  set_forget_bias(stack, 2.0);
  EXPECT_EQ(stack.layer(1).bias_ih()(kHidden, 0), 2.0);
}

TEST(RecurrentInit, HiddenWeightsPerGateBlockOrthogonalIdentityOrAtSpectralRadius) {
  for (CellKind kind : testing::kAllCells) {
    auto layer = make_recurrent_layer<double>(kind, kInputs, kHidden);
    Rng rng(3);
    orthogonal_hidden(*layer, 0.8, rng);
    const Matrix<double> identity = Matrix<double>::Identity(kHidden, kHidden);
    for (Index gate = 0; gate < layer->gates(); ++gate) {
      const Matrix<double> block = layer->weight_hh().middleRows(gate * kHidden, kHidden);
      EXPECT_LT((block.transpose() * block - 0.64 * identity).cwiseAbs().maxCoeff(), 1e-12);
      if (gate > 0) {
        EXPECT_GT((block - layer->weight_hh().topRows(kHidden)).cwiseAbs().maxCoeff(), 0.1)
            << "each gate block is drawn on its own";
      }
    }

    identity_hidden(*layer, 0.5);
    for (Index gate = 0; gate < layer->gates(); ++gate) {
      EXPECT_EQ(Matrix<double>(layer->weight_hh().middleRows(gate * kHidden, kHidden)),
                Matrix<double>(0.5 * identity));
    }

    layer->weight_hh() = rng.normal_matrix<double>(layer->weight_hh().rows(), kHidden);
    scale_hidden_to_spectral_radius(*layer, 1.3);
    for (Index gate = 0; gate < layer->gates(); ++gate) {
      const Matrix<double> block = layer->weight_hh().middleRows(gate * kHidden, kHidden);
      EXPECT_NEAR(spectral_radius(block), 1.3, 1e-10);
    }
  }
}

}  // namespace
}  // namespace gradscope
