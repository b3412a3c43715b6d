package io.gradwatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorRecord;
import io.gradwatch.testkit.Await;
import io.gradwatch.testkit.KafkaBroker;
import io.gradwatch.testkit.KafkaBrokerExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KafkaBrokerExtension.class)
class TensorRecordRoundTripIT {

    @Test
    void tensorRecordsComeBackEqualThroughARealBroker(KafkaBroker broker) {
        String topic = KafkaBroker.uniqueTopic(Topics.GRADIENTS);
        broker.createTopics(List.of(topic), 2);
        List<TensorRecord> sent = new ArrayList<>();
        for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16)) {
            for (int timestep = 0; timestep < 4; timestep++) {
                float[] values = {timestep, -timestep, 0.5f * timestep, Float.NaN, 1e-3f, 7f};
                sent.add(TensorViewTest.record(values, dtype, 2, 3).toBuilder().setTimestep(timestep)
                        .setRunId("run-" + dtype).build());
            }
        }

        Properties producerProps = broker.clientProperties();
        producerProps.put("enable.idempotence", "true");
        try (var producer = new KafkaProducer<>(producerProps, new StringSerializer(),
                GradwatchSerdes.tensorRecord().serializer())) {
            for (TensorRecord record : sent) {
                producer.send(new ProducerRecord<>(topic, record.getRunId(), record));
            }
            producer.flush();
        }

        Properties consumerProps = broker.clientProperties();
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "round-trip-" + topic);
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, TensorRecord>> received = new ArrayList<>();
        try (var consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(),
                GradwatchSerdes.tensorRecord().deserializer())) {
            consumer.subscribe(List.of(topic));
            Await.until("the " + sent.size() + " records sent to " + topic, Duration.ofSeconds(60), () -> {
                consumer.poll(Duration.ofMillis(500)).forEach(received::add);
                return received.size();
            }, count -> count >= sent.size());
        }

        assertThat(received).hasSize(sent.size());
        assertThat(received).allSatisfy(r -> assertThat(r.key()).isEqualTo(r.value().getRunId()));
        assertThat(received.stream().map(ConsumerRecord::value).toList()).containsExactlyInAnyOrderElementsOf(sent);
        // Records of one run share a key, hence a partition, hence their order.
        for (DType dtype : List.of(DType.F32, DType.F16, DType.BF16)) {
            assertThat(received.stream().map(ConsumerRecord::value).filter(r -> r.getRunId().equals("run-" + dtype))
                    .map(TensorRecord::getTimestep).toList()).containsExactly(0, 1, 2, 3);
        }
    }
}
