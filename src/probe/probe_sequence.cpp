#include "gradscope/probe/probe_sequence.hpp"

#include "gradscope/probe/time_step_probe.hpp"

namespace gradscope {

template <typename Scalar>
SequenceProbeResult probe_sequence(RecurrentModel<Scalar>& model,
                                   const SequenceBatch<Scalar>& batch, const Loss<Scalar>& loss) {
  TimeStepProbe<Scalar> probe;
  probe.reset(model.stack().size(), batch.steps);
  model.zero_grad();
  const Matrix<Scalar>& output = model.forward(batch.x, batch.size());
  Matrix<Scalar> doutput(output.rows(), output.cols());
  SequenceProbeResult result;
  result.loss = loss.evaluate(output, batch.targets, doutput);
  model.backward(doutput, &probe);
  result.layers = probe.records();
  return result;
}

template SequenceProbeResult probe_sequence<float>(RecurrentModel<float>&,
                                                   const SequenceBatch<float>&, const Loss<float>&);
template SequenceProbeResult probe_sequence<double>(RecurrentModel<double>&,
                                                    const SequenceBatch<double>&,
                                                    const Loss<double>&);

}  // namespace gradscope
