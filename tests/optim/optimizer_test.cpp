#include "gradscope/optim/optimizer.hpp"

#include <gtest/gtest.h>

#include "gradscope/core/error.hpp"
#include "gradscope/core/random.hpp"
#include "gradscope/optim/adam.hpp"
#include "gradscope/optim/sgd.hpp"

namespace gradscope {
namespace {

TEST(ParseOptimizer, AcceptsTheTwoNames) {
  EXPECT_EQ(parse_optimizer("sgd"), OptimizerKind::kSgd);
  EXPECT_EQ(parse_optimizer("adam"), OptimizerKind::kAdam);
}

TEST(ParseOptimizer, RejectsUnknownNamesAsBadInput) {
  for (const char* name : {"", "rmsprop", "Adam", "adamw", "sgd "}) {
    try {
      parse_optimizer(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << name;
      EXPECT_NE(std::string(error.what()).find("sgd"), std::string::npos) << error.what();
    }
  }
}

TEST(MakeOptimizer, BuildsTheRequestedKindWithItsLearningRate) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.lr = 0.25;
  std::unique_ptr<Optimizer<double>> sgd = make_optimizer<double>(spec);
  EXPECT_NE(dynamic_cast<Sgd<double>*>(sgd.get()), nullptr);
  EXPECT_EQ(sgd->learning_rate(), 0.25);

  spec.kind = OptimizerKind::kAdam;
  std::unique_ptr<Optimizer<float>> adam = make_optimizer<float>(spec);
  EXPECT_NE(dynamic_cast<Adam<float>*>(adam.get()), nullptr);
  adam->set_learning_rate(0.5);
  EXPECT_EQ(adam->learning_rate(), 0.5);
}

}  // namespace
}  // namespace gradscope

namespace gradscope {
namespace {

// The update norms an optimiser reports are the distances its step moved each parameter.
TEST(UpdateNorms, EqualTheDistanceEachParameterMoved) {
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam}) {
    for (double momentum : {0.0, 0.9}) {
      for (bool nesterov : {false, true}) {
        if (nesterov && momentum == 0.0) continue;
        OptimizerSpec spec;
        spec.kind = kind;
        spec.lr = 0.05;
        spec.momentum = kind == OptimizerKind::kSgd ? momentum : 0.0;
        spec.nesterov = kind == OptimizerKind::kSgd && nesterov;
        spec.weight_decay = 0.01;
        std::unique_ptr<Optimizer<double>> optimizer = make_optimizer<double>(spec);
        Rng rng(11);
        Matrix<double> w = rng.normal_matrix<double>(4, 3), dw(4, 3);
        Matrix<double> b = rng.normal_matrix<double>(4, 1), db(4, 1);
        const std::vector<Param<double>> params{{"weight", &w, &dw}, {"bias", &b, &db}};
        for (int step = 0; step < 3; ++step) {
          dw = rng.normal_matrix<double>(4, 3);
          db = rng.normal_matrix<double>(4, 1);
          const Matrix<double> w_before = w, b_before = b;
          std::vector<double> norms;
          optimizer->step(params, &norms);
          ASSERT_EQ(norms.size(), 2u);
          EXPECT_NEAR(norms[0], (w - w_before).norm(), 1e-12);
          EXPECT_NEAR(norms[1], (b - b_before).norm(), 1e-12);
          EXPECT_GT(norms[0], 0.0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace gradscope
