package io.gradwatch.trainer.nn;

import io.gradwatch.trainer.tasks.Targets;
import java.util.List;

/**
 * The linear read-out {@code head.weight} [out, H], {@code head.bias} [out] with its loss:
 * softmax cross-entropy for class targets, MSE for real ones, both averaged as PyTorch's
 * reduction='mean' (over samples for cross-entropy, over all elements for MSE).
 */
public final class Head {
    private final int hidden;
    private final int outputs;
    private final Parameter weight;
    private final Parameter bias;
    private double[] logits = new double[0];
    private double[] dLogits = new double[0];

    public Head(int hidden, int outputs) {
        this.hidden = hidden;
        this.outputs = outputs;
        this.weight = Parameter.zeros("head.weight", outputs, hidden);
        this.bias = Parameter.zeros("head.bias", outputs);
    }

    public List<Parameter> parameters() {
        return List.of(weight, bias);
    }

    public int outputs() {
        return outputs;
    }

    /** Loss and accuracy of the read-out of {@code rows} hidden vectors. */
    public record Result(double loss, double accuracy) {
    }

    /**
     * Forward and backward of the head on {@code rows} rows of {@code h} from offset {@code hOff}:
     * adds head gradients and writes dL/dh into {@code dh} at {@code dhOff}.
     *
     * @param targetOff index of the first row's target (a label index, or a value index / width)
     * @param scale 1 / (rows the loss averages over), so several calls make one mean
     */
    public Result forwardBackward(double[] h, int hOff, int rows, Targets targets, int targetOff, double scale,
                                  double[] dh, int dhOff, boolean backward) {
        ensure(rows);
        Kernels.gemmTransB(h, hOff, weight.value(), 0, logits, 0, rows, outputs, hidden, false);
        Kernels.addBias(logits, 0, bias.value(), rows, outputs);
        double loss = 0;
        double correct = 0;
        if (targets instanceof Targets.Classes classes) {
            for (int r = 0; r < rows; r++) {
                int label = classes.labels()[targetOff + r];
                int row = r * outputs;
                double max = Double.NEGATIVE_INFINITY;
                int argmax = 0;
                for (int k = 0; k < outputs; k++) {
                    if (logits[row + k] > max) {
                        max = logits[row + k];
                        argmax = k;
                    }
                }
                double sum = 0;
                for (int k = 0; k < outputs; k++) {
                    sum += Math.exp(logits[row + k] - max);
                }
                double logSum = max + Math.log(sum);
                loss += (logSum - logits[row + label]) * scale;
                correct += argmax == label ? 1 : 0;
                for (int k = 0; k < outputs; k++) {
                    double p = Math.exp(logits[row + k] - logSum);
                    dLogits[row + k] = (p - (k == label ? 1 : 0)) * scale;
                }
            }
        } else {
            Targets.Values values = (Targets.Values) targets;
            double elementScale = scale / outputs;
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < outputs; k++) {
                    double diff = logits[r * outputs + k] - values.values()[(targetOff + r) * outputs + k];
                    loss += diff * diff * elementScale;
                    dLogits[r * outputs + k] = 2 * diff * elementScale;
                }
            }
            correct = Double.NaN;
        }
        if (backward) {
            Kernels.gemmTransAAccumulate(dLogits, 0, h, hOff, weight.grad(), 0, outputs, hidden, rows);
            Kernels.sumRowsInto(dLogits, 0, bias.grad(), rows, outputs);
            Kernels.gemm(dLogits, 0, weight.value(), 0, dh, dhOff, rows, hidden, outputs, false);
        }
        return new Result(loss, correct / rows);
    }

    private void ensure(int rows) {
        if (logits.length < rows * outputs) {
            logits = new double[rows * outputs];
            dLogits = new double[rows * outputs];
        }
    }
}
