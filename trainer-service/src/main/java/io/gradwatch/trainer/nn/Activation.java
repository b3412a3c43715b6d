package io.gradwatch.trainer.nn;

/** Elementwise nonlinearities, with derivatives in terms of the input z and the output y = f(z). */
public enum Activation {
    TANH {
        @Override
        public double apply(double z) {
            return Math.tanh(z);
        }

        @Override
        public double derivative(double z, double y) {
            return 1 - y * y;
        }
    },
    SIGMOID {
        @Override
        public double apply(double z) {
            return sigmoid(z);
        }

        @Override
        public double derivative(double z, double y) {
            return y * (1 - y);
        }
    },
    RELU {
        @Override
        public double apply(double z) {
            return z > 0 ? z : 0;
        }

        @Override
        public double derivative(double z, double y) {
            return z > 0 ? 1 : 0;
        }
    },
    /** Negative slope 0.01, as torch.nn.LeakyReLU's default. */
    LEAKY_RELU {
        @Override
        public double apply(double z) {
            return z > 0 ? z : LEAKY_SLOPE * z;
        }

        @Override
        public double derivative(double z, double y) {
            return z > 0 ? 1 : LEAKY_SLOPE;
        }
    },
    /** alpha = 1, as torch.nn.ELU's default. */
    ELU {
        @Override
        public double apply(double z) {
            return z > 0 ? z : Math.expm1(z);
        }

        @Override
        public double derivative(double z, double y) {
            return z > 0 ? 1 : y + 1;
        }
    };

    public static final double LEAKY_SLOPE = 0.01;

    public abstract double apply(double z);

    /** df/dz at z, given y = f(z). */
    public abstract double derivative(double z, double y);

    public static double sigmoid(double z) {
        // One exp of a non-positive argument: no overflow, and NaN stays NaN.
        double e = Math.exp(-Math.abs(z));
        return z >= 0 ? 1 / (1 + e) : e / (1 + e);
    }

    /**
     * tanh from one intrinsic {@code Math.exp} (Java 17's {@code Math.tanh} is a much slower
     * library call): (1 - e) / (1 + e) with e = exp(-2|x|), or the Taylor series below
     * |x| = 0.02 where that would cancel. Within ~3e-15 relative of {@code Math.tanh}; NaN and
     * the infinities map as {@code Math.tanh} maps them.
     */
    public static double tanh(double x) {
        double ax = Math.abs(x);
        if (ax < 0.02) {
            double x2 = x * x;
            return x * (1 - x2 * (1.0 / 3 - x2 * (2.0 / 15 - x2 * (17.0 / 315))));
        }
        double e = Math.exp(-2 * ax);
        return Math.copySign((1 - e) / (1 + e), x);
    }

    /** Whether units can die (output exactly 0 for all negative input). */
    public boolean isReluFamily() {
        return this == RELU || this == LEAKY_RELU || this == ELU;
    }

    /** Whether units saturate at bounds (tanh at +-1, sigmoid at 0 and 1). */
    public boolean saturates() {
        return this == TANH || this == SIGMOID;
    }
}
