// A recurrent network as a PyTorch user would write it: a recurrent stack (nn.RNN / nn.LSTM /
// nn.GRU with batch_first=True, child `rnn`) and a linear head (nn.Linear, child `head`) on the
// last step's output — or on every step's output, for tasks with a target at every step.
//
//   x      (I, T B)  time-major (columns [t B, (t+1) B) are step t)
//   Y      (H, T B)  the top layer's outputs h_0 .. h_{T-1}
//   output (O, B)    head(h_{T-1})                       HeadPlacement::kLastStep
//          (O, T B)  head(h_t) for every t               HeadPlacement::kEveryStep
//
// Parameter names are the PyTorch module's: rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
// rnn.bias_hh_l0, ..., head.weight, head.bias. Training uses truncated BPTT with window K
// (spec.tbptt; 0 = full BPTT), see rnn/unroller.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gradscope/core/random.hpp"
#include "gradscope/nn/dense.hpp"
#include "gradscope/rnn/time_step_observer.hpp"
#include "gradscope/rnn/unroller.hpp"

namespace gradscope {

enum class HeadPlacement { kLastStep, kEveryStep };
// How W_hh starts: PyTorch's default U(-1/sqrt(H), 1/sqrt(H)), or per gate block orthogonal or
// identity (Le et al. 2015's IRNN with a ReLU cell).
enum class HiddenInit { kDefault, kOrthogonal, kIdentity };
// "default" | "orthogonal" | "identity"; bad-input Error otherwise.
HiddenInit parse_hidden_init(const std::string& name);
std::string_view hidden_init_name(HiddenInit init);

struct RecurrentSpec {
  CellKind cell = CellKind::kLstm;
  Index inputs = 2;
  Index hidden = 64;
  Index layers = 1;
  Index outputs = 1;
  HeadPlacement head = HeadPlacement::kLastStep;
  HiddenInit hidden_init = HiddenInit::kDefault;
  std::optional<double> rho;          // then every W_hh gate block is scaled to spectral radius rho
  std::optional<double> forget_bias;  // LSTM: the forget gate's total bias
  Index tbptt = 0;                    // truncation window K; 0 = full BPTT
};

// Bad-input Error naming the field when a value is out of range.
void validate(const RecurrentSpec& spec);

// The run log header's "model" object of a recurrent model on sequences of `steps` steps
// (docs/run-log.md), all but `dtype`.
nlohmann::json to_json(const RecurrentSpec& spec, Index steps);

// Bytes a training step needs for sequences of `steps` steps and `batch` samples.
std::uint64_t estimate_training_bytes(const RecurrentSpec& spec, Index steps, Index batch,
                                      std::size_t scalar_bytes);

template <typename Scalar>
class RecurrentModel {
 public:
  using Mat = Matrix<Scalar>;

  // Parameters initialised from `rng` as the spec says (head: PyTorch's nn.Linear default).
  RecurrentModel(const RecurrentSpec& spec, Rng& rng);
  // The unroller points into the stack: a model stays where it was built.
  RecurrentModel(const RecurrentModel&) = delete;
  RecurrentModel& operator=(const RecurrentModel&) = delete;

  const RecurrentSpec& spec() const { return spec_; }

  // x (I, T B) for `batch` sequences. Returns the head's output (see the top of this file),
  // valid until the next forward.
  const Mat& forward(ConstMatrixRef<Scalar> x, Index batch);
  // doutput = dL/d(output) of the last forward. Accumulates every parameter gradient; `observer`
  // sees every time step of every layer.
  void backward(ConstMatrixRef<Scalar> doutput, TimeStepObserver<Scalar>* observer = nullptr);

  std::vector<Param<Scalar>> params();
  void zero_grad();

  RecurrentStack<Scalar>& stack() { return stack_; }
  const RecurrentStack<Scalar>& stack() const { return stack_; }
  Dense<Scalar>& head() { return head_; }
  Unroller<Scalar>& unroller() { return unroller_; }
  const Unroller<Scalar>& unroller() const { return unroller_; }

 private:
  RecurrentSpec spec_;
  RecurrentStack<Scalar> stack_;
  Dense<Scalar> head_;
  Unroller<Scalar> unroller_;
  Mat output_;       // head output
  Mat dhead_input_;  // dL/d(head input)
  Mat dtop_;         // (H, T B) dL/dY, zero where no output is taken
};

}  // namespace gradscope
