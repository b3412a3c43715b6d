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
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
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
