// Shared checks for the sequence-task tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "gradscope/core/error.hpp"
#include "gradscope/tasks/sequence_task.hpp"

namespace gradscope::testing {

template <typename Scalar>
bool same_batch(const SequenceBatch<Scalar>& a, const SequenceBatch<Scalar>& b) {
  return a.steps == b.steps && a.x.rows() == b.x.rows() && a.x.cols() == b.x.cols() && a.x == b.x &&
         a.targets.values.rows() == b.targets.values.rows() &&
         a.targets.values.cols() == b.targets.values.cols() &&
         a.targets.values == b.targets.values && a.targets.labels == b.targets.labels;
}

// Same seed: same test set and same training batches; another seed: different ones; the test set
// does not move when batches are drawn; next_batch reuses the batch's storage.
template <typename Scalar, typename MakeTask>
void expect_reproducible(MakeTask make_task) {
  auto a = make_task(42);
  auto b = make_task(42);
  auto c = make_task(43);
  EXPECT_TRUE(same_batch(a.test_set(), b.test_set()));
  EXPECT_FALSE(same_batch(a.test_set(), c.test_set()));
  const SequenceBatch<Scalar> test_before = a.test_set();
  SequenceBatch<Scalar> batch_a;
  SequenceBatch<Scalar> batch_b;
  SequenceBatch<Scalar> batch_c;
  for (int step = 0; step < 3; ++step) {
    a.next_batch(4, batch_a);
    b.next_batch(4, batch_b);
    c.next_batch(4, batch_c);
    EXPECT_TRUE(same_batch(batch_a, batch_b)) << "step " << step;
    EXPECT_FALSE(same_batch(batch_a, batch_c)) << "step " << step;
  }
  EXPECT_TRUE(same_batch(test_before, a.test_set()));
  const Scalar* storage = batch_a.x.data();
  const SequenceBatch<Scalar> previous = batch_a;
  a.next_batch(4, batch_a);
  EXPECT_EQ(batch_a.x.data(), storage);
  EXPECT_FALSE(same_batch(batch_a, previous));
}

// Expects a bad-input Error whose message holds `part`.
template <typename Body>
void expect_bad_input(Body body, const std::string& part) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::kBadInput) << error.what();
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
        << "'" << part << "' not in: " << error.what();
  }
}

}  // namespace gradscope::testing
