package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.AlertType;

/** One raised flag: which signal, the measured value and the threshold it crossed, in words. */
public record Flag(AlertType type, double value, double threshold, String reason) {
}
