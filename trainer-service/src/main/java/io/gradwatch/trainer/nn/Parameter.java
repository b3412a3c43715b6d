package io.gradwatch.trainer.nn;

import java.util.Arrays;
import java.util.Objects;

/**
 * One trainable tensor: its PyTorch name (e.g. {@code weight_hh_l0}), its shape, and flat
 * row-major arrays for the value and the accumulated gradient. Optimizers, clipping,
 * checkpoints and publishing all work on these.
 */
public record Parameter(String name, int[] shape, double[] value, double[] grad) {
    public Parameter {
        Objects.requireNonNull(name, "name");
        int size = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (value.length != size || grad.length != size) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " needs " + size
                    + " elements, value has " + value.length + ", grad has " + grad.length);
        }
    }

    /** A zero-initialised parameter of the given shape. */
    public static Parameter zeros(String name, int... shape) {
        int size = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        return new Parameter(name, shape.clone(), new double[size], new double[size]);
    }

    public int size() {
        return value.length;
    }

    public void zeroGrad() {
        Arrays.fill(grad, 0.0);
    }
}
