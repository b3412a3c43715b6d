package io.gradwatch.bench.jmh;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's peak double-precision throughput on one core, the yardstick of
 * {@link LstmStepBenchmark}: {@value #CHAINS} independent chains of fused multiply-adds on the
 * widest vectors the JIT offers ({@code DoubleVector.SPECIES_PREFERRED}, 8 lanes with AVX-512),
 * enough chains to cover the FMA latency times the FMA ports, with no memory traffic in the loop.
 * Benchmark code only: needs {@code --add-modules jdk.incubator.vector} (the pom's test compiler
 * arguments and the fork's JVM arguments).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class PeakFmaBenchmark {
    static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
    static final int CHAINS = 16;
    static final int ITERATIONS = 100_000;
    /** 2 flops per lane per FMA. */
    static final double FLOPS_PER_CALL = 2.0 * CHAINS * ITERATIONS * SPECIES.length();

    /** Fields, not constants, so the JIT cannot fold the chains. */
    double multiplier = 0.999_999_9;
    double addend = 1e-7;

    @Benchmark
    public double fmaChains() {
        DoubleVector m = DoubleVector.broadcast(SPECIES, multiplier);
        DoubleVector c = DoubleVector.broadcast(SPECIES, addend);
        DoubleVector a0 = DoubleVector.broadcast(SPECIES, 1.0);
        DoubleVector a1 = DoubleVector.broadcast(SPECIES, 1.01);
        DoubleVector a2 = DoubleVector.broadcast(SPECIES, 1.02);
        DoubleVector a3 = DoubleVector.broadcast(SPECIES, 1.03);
        DoubleVector a4 = DoubleVector.broadcast(SPECIES, 1.04);
        DoubleVector a5 = DoubleVector.broadcast(SPECIES, 1.05);
        DoubleVector a6 = DoubleVector.broadcast(SPECIES, 1.06);
        DoubleVector a7 = DoubleVector.broadcast(SPECIES, 1.07);
        DoubleVector a8 = DoubleVector.broadcast(SPECIES, 1.08);
        DoubleVector a9 = DoubleVector.broadcast(SPECIES, 1.09);
        DoubleVector a10 = DoubleVector.broadcast(SPECIES, 1.10);
        DoubleVector a11 = DoubleVector.broadcast(SPECIES, 1.11);
        DoubleVector a12 = DoubleVector.broadcast(SPECIES, 1.12);
        DoubleVector a13 = DoubleVector.broadcast(SPECIES, 1.13);
        DoubleVector a14 = DoubleVector.broadcast(SPECIES, 1.14);
        DoubleVector a15 = DoubleVector.broadcast(SPECIES, 1.15);
        for (int i = 0; i < ITERATIONS; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
            a12 = a12.fma(m, c);
            a13 = a13.fma(m, c);
            a14 = a14.fma(m, c);
            a15 = a15.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .add(a12).add(a13).add(a14).add(a15).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
