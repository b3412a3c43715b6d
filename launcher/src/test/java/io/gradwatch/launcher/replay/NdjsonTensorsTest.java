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

    @org.junit.jupiter.api.Test
    void twoRecordsOnOneLineAreABadLineNotOneRecordSentAndOneDropped() {
        assertThatThrownBy(() -> NdjsonTensors.parse(GOOD + " " + GOOD)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> NdjsonTensors.parse(GOOD + ",")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not valid JSON");
    }

    @org.junit.jupiter.api.Test
    void rejectsDeeplyNestedJsonWithoutAStackOverflow() {
        String deep = "{\"run\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertThatThrownBy(() -> NdjsonTensors.parse(deep)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not valid JSON");
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
        "'{\"run\":\"r\\u0000x\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | INVALID_RUN_ID",
        "'{\"run\":\"\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'run' must be a non-empty string",
        "'{\"run\":7,\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'run' must be a non-empty string",
        "'{\"run\":\"r1\",\"step\":1e30,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'step' must be a whole number",
        "'{\"run\":\"r1\",\"step\":1.5,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'step' must be a whole number",
        "'{\"run\":\"r1\",\"step\":\"3\",\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'step' must be a whole number",
        "'{\"run\":\"r1\",\"step\":99999999999999999999999,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'step' must be a whole number",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":3000000000,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | 'timestep' is too large",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":1000000000,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | TIMESTEP_OUT_OF_RANGE",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[25000000],\"data\":[1]}' | TOO_LARGE",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[0,4],\"data\":[]}' | INVALID_SHAPE",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[\"2\"],\"data\":[1,2]}' | 'shape' must be an array of whole numbers",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1],\"dtype\":\"F64\"}' | 'dtype'",
        "'{\"run\":\"r1\",\"run\":\"r2\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[1]}' | Duplicate field 'run'",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":{\"0\":1}}' | 'data' must be an array of numbers",
        "'{\"run\":\"r1\",\"step\":1,\"layer\":0,\"timestep\":0,\"seq_len\":2,\"kind\":\"ACTIVATION\",\"shape\":[1],\"data\":[null]}' | 'data'[0] = null is not a number",
        "'{\"run\":\"r1\"} {\"run\":\"r2\"}'                         | not valid JSON",
        "'\"just a string\"'                                      | expected a JSON object",
        "null                                                    | expected a JSON object",
    })
    void rejectsBadLinesSayingWhy(String line, String message) {
        assertThatThrownBy(() -> NdjsonTensors.parse(line)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
