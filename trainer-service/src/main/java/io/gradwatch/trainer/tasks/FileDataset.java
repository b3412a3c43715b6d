package io.gradwatch.trainer.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Sequences from a user's file (format in docs/training-data.md): NDJSON lines
 * {@code {"label": 1, "sequence": [[..], ..]}}, {@code {"target": [..], "sequence": ..}} or
 * {@code {"label": 1, "tokens": [3, 7, 1]}} (one-hot over {@code vocab}), or CSV rows
 * {@code label,x_0_0,..,x_0_F-1,x_1_0,..}. Every sequence must have the same length and width.
 * Loading reports every bad line (the first 20) with its number, then fails with a summary.
 */
public final class FileDataset implements SequenceTask {
    private static final int ERRORS_SHOWN = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final int seqLen;
    private final int features;
    private final int batchSize;
    private final boolean classification;
    private final int outputs;
    private final List<double[]> sequences;
    private final List<int[]> labels;
    private final List<double[]> targets;

    private FileDataset(String name, int seqLen, int features, int batchSize, boolean classification, int outputs,
                        List<double[]> sequences, List<int[]> labels, List<double[]> targets) {
        this.name = name;
        this.seqLen = seqLen;
        this.features = features;
        this.batchSize = batchSize;
        this.classification = classification;
        this.outputs = outputs;
        this.sequences = sequences;
        this.labels = labels;
        this.targets = targets;
    }

    /**
     * @param vocab size of the one-hot encoding for {@code tokens} lines (0 if none)
     * @param csvFeatures features per timestep in a CSV file
     */
    public static FileDataset load(Path file, int batchSize, int vocab, int csvFeatures) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("training data file " + file + " does not exist");
        }
        boolean csv = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv");
        Loader loader = new Loader(file, vocab, csvFeatures);
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNumber = 0;
            for (String line; (line = reader.readLine()) != null; ) {
                lineNumber++;
                if (line.isBlank() || (csv && lineNumber == 1 && line.toLowerCase(Locale.ROOT).startsWith("label"))) {
                    continue;
                }
                try {
                    if (csv) {
                        loader.csvLine(line);
                    } else {
                        loader.jsonLine(line);
                    }
                } catch (IllegalArgumentException e) {
                    loader.error(lineNumber, e.getMessage());
                }
            }
        }
        return loader.build(file.getFileName().toString(), batchSize);
    }

    @Override
    public String name() {
        return "file:" + name;
    }

    @Override
    public int seqLen() {
        return seqLen;
    }

    @Override
    public int inputSize() {
        return features;
    }

    @Override
    public int outputs() {
        return outputs;
    }

    @Override
    public boolean classification() {
        return classification;
    }

    @Override
    public double chanceAccuracy() {
        return classification ? 1.0 / outputs : Double.NaN;
    }

    public int size() {
        return sequences.size();
    }

    @Override
    public Batch nextBatch(SplittableRandom rng) {
        double[] inputs = new double[seqLen * batchSize * features];
        int[] batchLabels = new int[batchSize];
        double[] batchTargets = new double[batchSize * outputs];
        for (int b = 0; b < batchSize; b++) {
            int example = rng.nextInt(sequences.size());
            double[] sequence = sequences.get(example);
            for (int t = 0; t < seqLen; t++) {
                System.arraycopy(sequence, t * features, inputs, (t * batchSize + b) * features, features);
            }
            if (classification) {
                batchLabels[b] = labels.get(example)[0];
            } else {
                System.arraycopy(targets.get(example), 0, batchTargets, b * outputs, outputs);
            }
        }
        Targets batchTargetsRecord = classification ? new Targets.Classes(batchLabels, outputs, false)
                : new Targets.Values(batchTargets, outputs, false);
        return new Batch(seqLen, batchSize, features, inputs, batchTargetsRecord);
    }

    /** Accumulates examples and errors line by line. */
    private static final class Loader {
        private final Path file;
        private final int vocab;
        private final int csvFeatures;
        private final List<double[]> sequences = new ArrayList<>();
        private final List<int[]> labels = new ArrayList<>();
        private final List<double[]> targets = new ArrayList<>();
        private final List<String> errors = new ArrayList<>();
        private int errorCount;
        private int seqLen = -1;
        private int features = -1;
        private int outputs = -1;
        private Boolean classification;

        Loader(Path file, int vocab, int csvFeatures) {
            this.file = file;
            this.vocab = vocab;
            this.csvFeatures = csvFeatures;
        }

        void error(int line, String message) {
            errorCount++;
            if (errors.size() < ERRORS_SHOWN) {
                errors.add(file + ":" + line + ": " + message);
            }
        }

        void jsonLine(String line) {
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (IOException e) {
                throw new IllegalArgumentException("not valid JSON");
            }
            if (node == null || !node.isObject()) {
                throw new IllegalArgumentException("expected a JSON object");
            }
            double[] sequence;
            int width;
            if (node.has("tokens")) {
                if (vocab < 1) {
                    throw new IllegalArgumentException("'tokens' lines need --vocab N");
                }
                JsonNode tokens = node.get("tokens");
                if (!tokens.isArray() || tokens.isEmpty()) {
                    throw new IllegalArgumentException("'tokens' must be a non-empty array of token ids");
                }
                sequence = new double[tokens.size() * vocab];
                for (int t = 0; t < tokens.size(); t++) {
                    int token = tokens.get(t).asInt(-1);
                    if (!tokens.get(t).isInt() || token < 0 || token >= vocab) {
                        throw new IllegalArgumentException("token " + tokens.get(t) + " at position " + t
                                + " is not an id in 0.." + (vocab - 1));
                    }
                    sequence[t * vocab + token] = 1;
                }
                width = vocab;
                accept(sequence, tokens.size(), width, node);
            } else if (node.has("sequence")) {
                JsonNode steps = node.get("sequence");
                if (!steps.isArray() || steps.isEmpty() || !steps.get(0).isArray() || steps.get(0).isEmpty()) {
                    throw new IllegalArgumentException("'sequence' must be a non-empty array of number arrays");
                }
                width = steps.get(0).size();
                sequence = new double[steps.size() * width];
                for (int t = 0; t < steps.size(); t++) {
                    JsonNode step = steps.get(t);
                    if (!step.isArray() || step.size() != width) {
                        throw new IllegalArgumentException("timestep " + t + " has " + (step.isArray() ? step.size() : 0)
                                + " features, timestep 0 has " + width);
                    }
                    for (int f = 0; f < width; f++) {
                        if (!step.get(f).isNumber()) {
                            throw new IllegalArgumentException("timestep " + t + " feature " + f + " is not a number");
                        }
                        sequence[t * width + f] = step.get(f).asDouble();
                    }
                }
                accept(sequence, steps.size(), width, node);
            } else {
                throw new IllegalArgumentException("needs 'sequence' or 'tokens'");
            }
        }

        private void accept(double[] sequence, int length, int width, JsonNode node) {
            if (node.has("label")) {
                JsonNode label = node.get("label");
                if (!label.isInt() || label.asInt() < 0) {
                    throw new IllegalArgumentException("'label' must be a class index >= 0, got " + label);
                }
                add(sequence, length, width, new int[] {label.asInt()}, null);
            } else if (node.has("target")) {
                JsonNode target = node.get("target");
                double[] values = new double[target.isArray() ? target.size() : 1];
                for (int i = 0; i < values.length; i++) {
                    JsonNode value = target.isArray() ? target.get(i) : target;
                    if (!value.isNumber()) {
                        throw new IllegalArgumentException("'target' must be a number or an array of numbers");
                    }
                    values[i] = value.asDouble();
                }
                add(sequence, length, width, null, values);
            } else {
                throw new IllegalArgumentException("needs 'label' (classification) or 'target' (regression)");
            }
        }

        void csvLine(String line) {
            String[] cells = line.split(",", -1);
            int values = cells.length - 1;
            if (values < 1 || values % csvFeatures != 0) {
                throw new IllegalArgumentException(values + " values after the label are not a whole number of "
                        + "timesteps of " + csvFeatures + " features (--features)");
            }
            double[] sequence = new double[values];
            for (int i = 0; i < values; i++) {
                sequence[i] = number(cells[i + 1].trim(), i + 2);
            }
            String label = cells[0].trim();
            try {
                add(sequence, values / csvFeatures, csvFeatures, new int[] {Integer.parseInt(label)}, null);
            } catch (NumberFormatException e) {
                add(sequence, values / csvFeatures, csvFeatures, null, new double[] {number(label, 1)});
            }
        }

        private static double number(String cell, int column) {
            try {
                return Double.parseDouble(cell);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("column " + column + " ('" + cell + "') is not a number");
            }
        }

        private void add(double[] sequence, int length, int width, int[] label, double[] target) {
            boolean isClass = label != null;
            if (classification == null) {
                classification = isClass;
                seqLen = length;
                features = width;
            }
            if (classification != isClass) {
                throw new IllegalArgumentException("mixes " + (isClass ? "a class label" : "a regression target")
                        + " with earlier lines' " + (classification ? "class labels" : "regression targets"));
            }
            if (length != seqLen || width != features) {
                throw new IllegalArgumentException("sequence of " + length + " x " + width + ", earlier lines have "
                        + seqLen + " x " + features + " (timesteps x features)");
            }
            if (isClass) {
                outputs = Math.max(outputs, label[0] + 1);
                labels.add(label);
            } else {
                if (outputs >= 0 && outputs != target.length) {
                    throw new IllegalArgumentException("target of width " + target.length + ", earlier lines have "
                            + outputs);
                }
                outputs = target.length;
                targets.add(target);
            }
            sequences.add(sequence);
        }

        FileDataset build(String name, int batchSize) {
            if (errorCount > 0) {
                StringBuilder message = new StringBuilder(errorCount + " bad line" + (errorCount == 1 ? "" : "s")
                        + " in " + file + ":");
                errors.forEach(error -> message.append("\n  ").append(error));
                if (errorCount > errors.size()) {
                    message.append("\n  (").append(errorCount - errors.size()).append(" more)");
                }
                throw new IllegalArgumentException(message.toString());
            }
            if (sequences.isEmpty()) {
                throw new IllegalArgumentException(file + " holds no examples");
            }
            if (classification && outputs < 2) {
                outputs = 2;
            }
            return new FileDataset(name, seqLen, features, batchSize, classification, outputs, sequences, labels,
                    targets);
        }
    }
}
