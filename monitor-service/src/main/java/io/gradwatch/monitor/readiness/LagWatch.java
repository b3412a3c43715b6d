package io.gradwatch.monitor.readiness;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds partitions that make no progress while their lag grows: lag above zero that has not gone
 * down for {@code stallAfterMs} and is higher now than when it last went down. A partition that
 * keeps up shows its lag falling between samples now and then, however busy it is; one stuck on
 * a record only ever sees it rise. Pure: the caller samples the lags and the clock.
 */
public final class LagWatch {
    private final long stallAfterMs;
    private final Map<String, Progress> partitions = new HashMap<>();

    private record Progress(long lastLag, long progressMs, long lagAtProgress) {
    }

    public LagWatch(long stallAfterMs) {
        this.stallAfterMs = stallAfterMs;
    }

    /** Records one sample of each partition's lag (records behind the log end) at {@code nowMs}. */
    public synchronized void observe(Map<String, Long> lags, long nowMs) {
        partitions.keySet().retainAll(lags.keySet());
        lags.forEach((partition, lag) -> {
            Progress before = partitions.get(partition);
            boolean progressed = before == null || lag == 0 || lag < before.lastLag();
            partitions.put(partition, progressed ? new Progress(lag, nowMs, lag)
                    : new Progress(lag, before.progressMs(), before.lagAtProgress()));
        });
    }

    /** The partitions stalled at {@code nowMs}, sorted. */
    public synchronized List<String> stalled(long nowMs) {
        return partitions.entrySet().stream()
                .filter(e -> e.getValue().lastLag() > 0 && nowMs - e.getValue().progressMs() >= stallAfterMs
                        && e.getValue().lastLag() > e.getValue().lagAtProgress())
                .map(Map.Entry::getKey).sorted().toList();
    }
}
