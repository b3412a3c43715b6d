package io.gradwatch.launcher.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.TopicPlan;
import io.gradwatch.protocol.TopicPlan.TopicSpec;
import io.gradwatch.protocol.Topics;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicProvisionerTest {
    private static final TopicSpec GRADIENTS = TopicPlan.defaults().get(0);

    @Test
    void theDefaultPlanCoversEveryTopicWithTimeAndSizeRetention() {
        assertThat(TopicPlan.defaults()).extracting(TopicSpec::name).containsExactlyElementsOf(Topics.ALL);
        assertThat(TopicPlan.defaults()).allSatisfy(spec -> {
            assertThat(spec.partitions()).isEqualTo(TopicPlan.DEFAULT_PARTITIONS);
            assertThat(spec.configs()).containsKeys("retention.ms", "retention.bytes").containsEntry("cleanup.policy",
                    "delete");
        });
        assertThat(GRADIENTS.configs()).containsEntry("retention.ms", "21600000");
    }

    @Test
    void aTopicThatMatchesThePlanHasNoDifferences() {
        assertThat(TopicProvisioner.differences(GRADIENTS, GRADIENTS.partitions(), GRADIENTS.configs())).isEmpty();
    }

    @Test
    void eachDifferingSettingAndThePartitionCountAreNamed() {
        Map<String, String> actual = new HashMap<>(GRADIENTS.configs());
        actual.put("retention.ms", "604800000");
        actual.remove("segment.ms");
        assertThat(TopicProvisioner.differences(GRADIENTS, 6, actual)).containsExactly(
                "6 partitions, plan 3 (not changed here: see docs/operations.md, \"Topics\")",
                "retention.ms is 604800000, plan 21600000",
                "segment.ms is null, plan 3600000");
    }
}
