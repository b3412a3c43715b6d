package io.gradwatch.monitor.analysis;

import io.gradwatch.protocol.v1.AlertType;

/**
 * One raised flag: which signal, the measured value and the threshold it crossed, in words; a
 * severe flag (far past its threshold, see {@link Thresholds#severe}) fires its alert at once.
 */
public record Flag(AlertType type, double value, double threshold, String reason, boolean severe) {
    public Flag(AlertType type, double value, double threshold, String reason) {
        this(type, value, threshold, reason, false);
    }
}
