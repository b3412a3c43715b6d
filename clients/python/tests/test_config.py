"""Kafka settings: the Java clients' kafka.* keys and GRADWATCH_KAFKA_* variables."""
import pytest

from gradwatch import config


def test_gradwatch_kafka_variables_map_to_kafka_keys_like_the_java_settings():
    assert config.key_for_environment_variable("GRADWATCH_KAFKA_SECURITY_PROTOCOL") == "security.protocol"
    assert config.key_for_environment_variable("GRADWATCH_KAFKA_SASL_MECHANISM") == "sasl.mechanism"
    assert config.key_for_environment_variable("GRADWATCH_MONITOR_VANISHING_DECAY_FLOOR") is None
    assert config.key_for_environment_variable("GRADWATCH_KAFKA_") is None
    assert config.environment_variable_for("ssl.ca.location") == "GRADWATCH_KAFKA_SSL_CA_LOCATION"


def test_later_sources_win_defaults_file_environment_dict_argument(tmp_path):
    properties = tmp_path / "gradwatch.properties"
    properties.write_text("# comment\nkafka.bootstrap.servers=file:9092\nkafka.sasl.mechanism = SCRAM-SHA-512\n"
                          "kafka.client.id: from-file\nmonitor.grace=5s\n")
    env = {"GRADWATCH_CONFIG": str(properties), "GRADWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
           "GRADWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "HOME": "/root"}
    assert config.kafka_settings(environment={})["bootstrap.servers"] == "127.0.0.1:9092"
    settings = config.kafka_settings(kafka={"kafka.sasl.username": "alice", "sasl.password": "secret",
                                            "enable.idempotence": True}, environment=env)
    assert settings == {"bootstrap.servers": "file:9092", "sasl.mechanism": "SCRAM-SHA-256",
                        "client.id": "from-file", "security.protocol": "SASL_SSL", "sasl.username": "alice",
                        "sasl.password": "secret", "enable.idempotence": "true"}
    env["GRADWATCH_KAFKA_BOOTSTRAP_SERVERS"] = "env:9093"
    assert config.kafka_settings(environment=env)["bootstrap.servers"] == "env:9093"
    assert config.kafka_settings("arg:9094", environment=env)["bootstrap.servers"] == "arg:9094"


def test_secrets_are_masked_for_logs():
    masked = config.masked({"sasl.password": "p", "sasl.jaas.config": "j", "sasl.username": "alice"})
    assert masked == {"sasl.password": "****", "sasl.jaas.config": "****", "sasl.username": "alice"}


def test_an_unreadable_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="GRADWATCH_CONFIG names .* cannot be read"):
        config.kafka_settings(environment={"GRADWATCH_CONFIG": str(tmp_path / "missing.properties")})
