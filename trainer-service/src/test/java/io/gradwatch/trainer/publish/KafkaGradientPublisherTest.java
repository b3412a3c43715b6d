package io.gradwatch.trainer.publish;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradwatch.protocol.GradwatchSerdes;
import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.Topics;
import io.gradwatch.protocol.v1.ActivationFunction;
import io.gradwatch.protocol.v1.CellType;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.StepRecord;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class KafkaGradientPublisherTest {

    @Test
    void recordsCarryEveryTimestepSliceInOrder() {
        StepSnapshot snapshot = snapshot(7, true);
        List<TensorRecord> records = new TensorRecordFactory(DType.F32).records(snapshot);
        assertThat(records).hasSize(2 * 3 * 2);
        TensorRecord last = records.stream()
                .filter(r -> r.getLayer() == 1 && r.getTimestep() == 2 && r.getKind() == TensorKind.HIDDEN_GRAD)
                .findFirst().orElseThrow();
        assertThat(last.getShapeList()).containsExactly(2L, 4L);
        assertThat(last.getSeqLen()).isEqualTo(3);
        // layer 1's hidden grads are 100 + index; timestep 2 starts at index 2 * 2 * 4 = 16.
        assertThat(TensorView.of(last).get(0)).isEqualTo(116f);
        assertThat(records).allSatisfy(r -> GradwatchSerdes.tensorRecord().decode(r.toByteArray()));
    }

    @Test
    void publishesTensorsThenTheStepRecordKeyedByRun() throws Exception {
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(),
                new ByteArraySerializer());
        try (var publisher = new KafkaGradientPublisher(producer, DType.F16, 4)) {
            assertThat(publisher.offer(snapshot(1, false))).isTrue();
        }
        List<ProducerRecord<String, byte[]>> sent = producer.history();
        assertThat(sent).hasSize(2 * 3 + 1);
        assertThat(sent).allSatisfy(r -> assertThat(r.key()).isEqualTo("run-a"));
        assertThat(sent.get(sent.size() - 1).topic()).isEqualTo(Topics.STEPS);
        assertThat(StepRecord.parseFrom(sent.get(sent.size() - 1).value()).getStep()).isEqualTo(1);
        assertThat(TensorRecord.parseFrom(sent.get(0).value()).getDtype()).isEqualTo(DType.F16);
    }

    @Test
    void aStuckBrokerDropsStepsInsteadOfBlockingTrainingAndCountsThem() throws Exception {
        CountDownLatch brokerBack = new CountDownLatch(1);
        MockProducer<String, byte[]> stuck = new MockProducer<>(true, null, new StringSerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                try {
                    brokerBack.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.send(record, callback);
            }
        };
        var publisher = new KafkaGradientPublisher(stuck, DType.F32, 2);
        int accepted = 0;
        for (int step = 0; step < 10; step++) {
            accepted += publisher.offer(snapshot(step, false)) ? 1 : 0;
        }
        // One step is being sent (stuck), two wait in the queue; the rest were dropped at once.
        assertThat(accepted).isBetween(2, 3);
        int perStep = snapshot(0, false).recordCount();
        assertThat(publisher.stats().droppedRecords()).isEqualTo((long) (10 - accepted) * perStep);
        brokerBack.countDown();
        publisher.close();
        assertThat(publisher.stats().sentRecords()).isEqualTo((long) accepted * perStep);
    }

    private static StepSnapshot snapshot(long step, boolean withActivations) {
        int seqLen = 3;
        int batch = 2;
        int hidden = 4;
        List<LayerSnapshot> layers = List.of(layer(0, seqLen, batch, hidden, 0, withActivations),
                layer(1, seqLen, batch, hidden, 100, withActivations));
        StepRecord stepRecord = StepRecord.newBuilder().setRunId("run-a").setStep(step).setLoss(0.7).build();
        return new StepSnapshot("run-a", step, 1_700_000_000_000L, 2, layers, stepRecord);
    }

    private static LayerSnapshot layer(int index, int seqLen, int batch, int hidden, float base, boolean activations) {
        float[] grads = new float[seqLen * batch * hidden];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = base + i;
        }
        return new LayerSnapshot(index, seqLen, batch, hidden, CellType.RNN, ActivationFunction.TANH, grads,
                activations ? grads.clone() : null, null, 0);
    }
}
