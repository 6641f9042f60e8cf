#include "gradscope/probe/probe_once.hpp"

#include "gradscope/probe/gradient_probe.hpp"

namespace gradscope {

template <typename Scalar>
ProbeResult probe_once(Network<Scalar>& network, ConstMatrixRef<Scalar> x,
                       const Targets<Scalar>& targets, const Loss<Scalar>& loss) {
  GradientProbe<Scalar> probe(network.body());
  network.zero_grad();
  const Matrix<Scalar>& output = network.forward(x);
  Matrix<Scalar> doutput(output.rows(), output.cols());
  ProbeResult result;
  result.loss = loss.evaluate(output, targets, doutput);
  network.backward(doutput, &probe);
  result.layers = probe.records();
  result.ratio_first_last = probe.ratio_first_last();
  return result;
}

template ProbeResult probe_once<float>(Network<float>&, ConstMatrixRef<float>,
                                       const Targets<float>&, const Loss<float>&);
template ProbeResult probe_once<double>(Network<double>&, ConstMatrixRef<double>,
                                        const Targets<double>&, const Loss<double>&);

}  // namespace gradscope
