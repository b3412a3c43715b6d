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


def test_java_only_settings_become_librdkafkas_so_one_environment_serves_both_clients(caplog):
    java = {"bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required '
                                'username="trainer" password="p\\"w";',
            "ssl.truststore.location": "/etc/gradwatch/truststore.p12", "ssl.truststore.password": "x",
            "ssl.endpoint.identification.algorithm": "", "delivery.timeout.ms": "30000",
            "buffer.memory": str(32 * 1024 * 1024), "max.block.ms": "10000"}
    caplog.set_level("WARNING", logger="gradwatch")
    assert config.librdkafka_settings(java) == {
        "bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "trainer", "sasl.password": 'p"w', "ssl.endpoint.identification.algorithm": "none",
        "message.timeout.ms": "30000", "queue.buffering.max.kbytes": "32768"}
    assert any("ssl.ca.location" in r.getMessage() for r in caplog.records)


def test_the_translated_settings_are_accepted_by_confluent_kafka():
    from confluent_kafka import Producer
    settings = config.librdkafka_settings({"bootstrap.servers": "127.0.0.1:1", "sasl.jaas.config":
                                           'x required username="u" password="p";', "security.protocol": "SASL_PLAINTEXT",
                                           "sasl.mechanism": "SCRAM-SHA-512", "delivery.timeout.ms": "1000",
                                           "buffer.memory": "1048576", "max.block.ms": "5"})
    Producer(settings).flush(0)  # an unknown property would raise KafkaException here
