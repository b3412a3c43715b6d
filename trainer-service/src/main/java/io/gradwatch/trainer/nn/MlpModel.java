package io.gradwatch.trainer.nn;

import io.gradwatch.trainer.tasks.Batch;
import java.util.ArrayList;
import java.util.List;

/**
 * A deep feed-forward chain, {@code layers.{k}.weight} [H, in_k] and {@code layers.{k}.bias} [H]
 * for k = 0..depth-1, h_k = f(h_{k-1} W_k^T + b_k), then the linear head on h_{depth-1}. A batch's
 * sequence is flattened into one input vector per sample (so {@code inputSize} is T x features).
 * Its trace is one "layer" whose timestep is the depth: the chain across depth (sigmoid:
 * 0.25 x 0.24 x 0.23 = 0.0138) is analysed like the chain across time.
 */
public final class MlpModel implements Network {
    private final ModelConfig config;
    private final List<Parameter> weights = new ArrayList<>();
    private final List<Parameter> biases = new ArrayList<>();
    private final List<Parameter> parameters = new ArrayList<>();
    private final Head head;
    private int rows;
    private double[] x = new double[0];
    /** z_k and h_k, [depth][B][H]. */
    private double[] z = new double[0];
    private double[] h = new double[0];
    private double[] hiddenGrads = new double[0];
    private double[] preactGrads = new double[0];

    MlpModel(ModelConfig config) {
        this.config = config;
        for (int k = 0; k < config.layers(); k++) {
            int in = k == 0 ? config.inputSize() : config.hidden();
            Parameter weight = Parameter.zeros("layers." + k + ".weight", config.hidden(), in);
            Parameter bias = Parameter.zeros("layers." + k + ".bias", config.hidden());
            weights.add(weight);
            biases.add(bias);
            parameters.add(weight);
            parameters.add(bias);
        }
        head = new Head(config.hidden(), config.outputs());
        parameters.addAll(head.parameters());
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    List<Parameter> weights() {
        return weights;
    }

    List<Parameter> biases() {
        return biases;
    }

    @Override
    public List<Parameter> parameters() {
        return parameters;
    }

    @Override
    public StepResult forwardBackward(Batch batch, Tbptt tbptt) {
        parameters.forEach(Parameter::zeroGrad);
        return run(batch, true);
    }

    @Override
    public double loss(Batch batch, Tbptt tbptt) {
        return run(batch, false).loss();
    }

    @Override
    public List<LayerTrace> traces() {
        return List.of(new LayerTrace(0, config.layers(), rows, config.hidden(), config.activation(), h, hiddenGrads,
                preactGrads, config.hidden()));
    }

    private StepResult run(Batch batch, boolean backward) {
        if (batch.targets().perTimestep()) {
            throw new IllegalArgumentException("an MLP reads the whole sequence; per-timestep targets need a recurrent cell");
        }
        int features = batch.seqLen() * batch.inputSize();
        if (features != config.inputSize()) {
            throw new IllegalArgumentException("batch flattens to " + features + " inputs, the MLP expects "
                    + config.inputSize() + " (sequence length x features)");
        }
        flatten(batch);
        int hidden = config.hidden();
        Activation f = config.activation();
        for (int k = 0; k < config.layers(); k++) {
            double[] in = k == 0 ? x : h;
            int inOff = k == 0 ? 0 : (k - 1) * rows * hidden;
            int inWidth = k == 0 ? config.inputSize() : hidden;
            int off = k * rows * hidden;
            Kernels.gemmTransB(in, inOff, weights.get(k).value(), 0, z, off, rows, hidden, inWidth, false);
            Kernels.addBias(z, off, biases.get(k).value(), rows, hidden);
            for (int i = off; i < off + rows * hidden; i++) {
                h[i] = f.apply(z[i]);
            }
        }
        int last = (config.layers() - 1) * rows * hidden;
        Head.Result result = head.forwardBackward(h, last, rows, batch.targets(), 0, 1.0 / rows, hiddenGrads, last,
                backward);
        if (backward) {
            for (int k = config.layers() - 1; k >= 0; k--) {
                int off = k * rows * hidden;
                for (int i = off; i < off + rows * hidden; i++) {
                    preactGrads[i] = hiddenGrads[i] * f.derivative(z[i], h[i]);
                }
                double[] in = k == 0 ? x : h;
                int inOff = k == 0 ? 0 : (k - 1) * rows * hidden;
                int inWidth = k == 0 ? config.inputSize() : hidden;
                Kernels.gemmTransAAccumulate(preactGrads, off, in, inOff, weights.get(k).grad(), 0, hidden, inWidth, rows);
                Kernels.sumRowsInto(preactGrads, off, biases.get(k).grad(), rows, hidden);
                if (k > 0) {
                    Kernels.gemm(preactGrads, off, weights.get(k).value(), 0, hiddenGrads, inOff, rows, hidden, hidden,
                            false);
                }
            }
        }
        return new StepResult(result.loss(), result.accuracy());
    }

    /** [T][B][F] to [B][T*F]. */
    private void flatten(Batch batch) {
        int seqLen = batch.seqLen();
        int features = batch.inputSize();
        if (rows != batch.batchSize() || x.length != batch.batchSize() * seqLen * features) {
            rows = batch.batchSize();
            x = new double[rows * seqLen * features];
            int size = config.layers() * rows * config.hidden();
            z = new double[size];
            h = new double[size];
            hiddenGrads = new double[size];
            preactGrads = new double[size];
        }
        double[] in = batch.inputs();
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < rows; b++) {
                System.arraycopy(in, (t * rows + b) * features, x, b * seqLen * features + t * features, features);
            }
        }
    }
}
