package io.gradwatch.launcher.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradwatch.protocol.TensorView;
import io.gradwatch.protocol.v1.DType;
import io.gradwatch.protocol.v1.TensorKind;
import io.gradwatch.protocol.v1.TensorRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NdjsonTensorsTest {
    static final String GOOD = "{\"run\":\"r1\",\"step\":3,\"layer\":0,\"timestep\":4,\"seq_len\":10,"
            + "\"kind\":\"HIDDEN_GRAD\",\"shape\":[2,3],\"data\":[0.5,-0.25,3,\"NaN\",1e-5,\"Infinity\"]}";

    @Test
    void parsesARecordWithNonFiniteValues() {
        TensorRecord record = NdjsonTensors.parse(GOOD);
        assertThat(record.getRunId()).isEqualTo("r1");
        assertThat(record.getKind()).isEqualTo(TensorKind.HIDDEN_GRAD);
        assertThat(record.getDtype()).isEqualTo(DType.F32);
        TensorView view = TensorView.of(record);
        assertThat(view.get(1)).isEqualTo(-0.25f);
        assertThat(view.get(3)).isNaN();
        assertThat(view.get(5)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Test
    void formatThenParseIsTheSameRecord() {
        TensorRecord record = NdjsonTensors.parse(GOOD.replace("}", ",\"dtype\":\"bf16\",\"event_time_ms\":17}"));
        assertThat(NdjsonTensors.parse(NdjsonTensors.format(record))).isEqualTo(record);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "'{\"run\":\"r1\"}'                                           | missing field 'data'",
        "[1,2]                                                       | expected a JSON object",
        "not json                                                    | not valid JSON",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"HIDDEN_GRAD\",\"shape\":[2,2],\"data\":[1,2,3]}' | SHAPE_DATA_MISMATCH",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":5,\"seq_len\":2,\"kind\":\"HIDDEN_GRAD\",\"shape\":[1],\"data\":[1]}' | TIMESTEP_OUT_OF_RANGE",
        "'{\"run\":\"r1\",\"step\":-1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"HIDDEN_GRAD\",\"shape\":[1],\"data\":[1]}' | 'step' must be >= 0",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"GRADIENT\",\"shape\":[1],\"data\":[1]}' | is not one of HIDDEN_GRAD, PREACT_GRAD, ACTIVATION",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[\"x\"]}' | 'data'[0] = \"x\" is not a number",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1],\"extra\":1}' | unknown field 'extra'",
    })
    void rejectsBadLinesSayingWhy(String line, String message) {
        assertThatThrownBy(() -> NdjsonTensors.parse(line)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
