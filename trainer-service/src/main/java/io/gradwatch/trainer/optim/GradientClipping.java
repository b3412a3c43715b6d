package io.gradwatch.trainer.optim;

import io.gradwatch.trainer.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Gradient clipping as torch.nn.utils does it, and the norms the trainer reports. */
public final class GradientClipping {
    private GradientClipping() {
    }

    /** The L2 norm of all gradients together. */
    public static double globalNorm(List<Parameter> parameters) {
        double sum = 0;
        for (Parameter p : parameters) {
            for (double g : p.grad()) {
                sum += g * g;
            }
        }
        return Math.sqrt(sum);
    }

    /** Each parameter's gradient L2 norm, by name, in parameter order. */
    public static Map<String, Double> parameterNorms(List<Parameter> parameters) {
        Map<String, Double> norms = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            double sum = 0;
            for (double g : p.grad()) {
                sum += g * g;
            }
            norms.put(p.name(), Math.sqrt(sum));
        }
        return norms;
    }

    /** Each parameter's own L2 norm ||w_p||, by name, in parameter order (for the weight update ratio). */
    public static Map<String, Double> weightNorms(List<Parameter> parameters) {
        Map<String, Double> norms = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            double sum = 0;
            for (double w : p.value()) {
                sum += w * w;
            }
            norms.put(p.name(), Math.sqrt(sum));
        }
        return norms;
    }

    /**
     * clip_grad_norm_ as in PyTorch 1.13 with error_if_nonfinite=False: every gradient is
     * multiplied by clamp(maxNorm / (norm + 1e-6), max=1). A NaN norm gives a NaN coefficient
     * (clamp keeps NaN), so every gradient becomes NaN; an infinite norm gives 0, so finite
     * entries become 0 and infinite ones NaN. Returns the norm before clipping.
     */
    public static double clipByNorm(List<Parameter> parameters, double maxNorm) {
        double norm = globalNorm(parameters);
        double coefficient = maxNorm / (norm + 1e-6);
        // Multiplying by a clamped 1.0 changes nothing, so only a coefficient below 1 or NaN is applied.
        if (!(coefficient >= 1)) {
            for (Parameter p : parameters) {
                double[] grad = p.grad();
                for (int i = 0; i < grad.length; i++) {
                    grad[i] *= coefficient;
                }
            }
        }
        return norm;
    }

    /** clip_grad_value_: clamps every gradient entry to [-clipValue, clipValue]. */
    public static void clipByValue(List<Parameter> parameters, double clipValue) {
        for (Parameter p : parameters) {
            double[] grad = p.grad();
            for (int i = 0; i < grad.length; i++) {
                grad[i] = Math.max(-clipValue, Math.min(clipValue, grad[i]));
            }
        }
    }
}
