"""Kafka client settings, resolved the way the Java clients resolve their ``kafka.*`` keys.

Sources, later ones winning: the defaults below, a properties file named by ``GRADWATCH_CONFIG``
(only its ``kafka.*`` keys), ``GRADWATCH_KAFKA_*`` environment variables
(``GRADWATCH_KAFKA_SECURITY_PROTOCOL`` is ``security.protocol``), the ``kafka`` dict given to the
``Watcher``, and its ``bootstrap_servers`` argument. Keys are standard Kafka client properties
(librdkafka spells them the same: ``security.protocol``, ``sasl.mechanism``, ``sasl.username``,
``ssl.ca.location`` ...). Pure functions: the environment is a parameter.
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional

ENV_PREFIX = "GRADWATCH_"
KAFKA_ENV_PREFIX = "GRADWATCH_KAFKA_"
KAFKA_PREFIX = "kafka."
DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"

# Keys whose values are masked when the settings are printed.
_SECRET_MARKERS = ("password", "secret", "jaas", "key.pem", "token")


def key_for_environment_variable(name: str) -> Optional[str]:
    """The Kafka key a ``GRADWATCH_KAFKA_*`` variable sets, or None for other variables."""
    if not name.startswith(KAFKA_ENV_PREFIX) or len(name) == len(KAFKA_ENV_PREFIX):
        return None
    return name[len(KAFKA_ENV_PREFIX):].lower().replace("_", ".")


def environment_variable_for(key: str) -> str:
    """The environment variable that sets the Kafka key ``key`` (``sasl.mechanism``: GRADWATCH_KAFKA_SASL_MECHANISM)."""
    return KAFKA_ENV_PREFIX + key.upper().replace(".", "_").replace("-", "_")


def read_properties(text: str) -> Dict[str, str]:
    """The ``key=value`` (or ``key: value``) lines of a Java properties file; comments and blanks skipped."""
    values: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut < 0:
            values[line] = ""
        else:
            values[line[:cut].strip()] = line[cut + 1:].strip()
    return values


def kafka_settings(bootstrap_servers: Optional[str] = None,
                   kafka: Optional[Mapping[str, object]] = None,
                   environment: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The Kafka client properties for this process: defaults < GRADWATCH_CONFIG file < env < ``kafka`` < argument."""
    env = os.environ if environment is None else environment
    settings: Dict[str, str] = {"bootstrap.servers": DEFAULT_BOOTSTRAP_SERVERS}
    config_file = env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        try:
            with open(config_file, encoding="utf-8") as handle:
                properties = read_properties(handle.read())
        except OSError as error:
            raise ValueError(f"GRADWATCH_CONFIG names {config_file!r}, which cannot be read: {error}") from None
        for key, value in properties.items():
            if key.startswith(KAFKA_PREFIX):
                settings[key[len(KAFKA_PREFIX):]] = value
    for name in sorted(env):
        key = key_for_environment_variable(name)
        if key is not None:
            settings[key] = env[name]
    for key, value in (kafka or {}).items():
        key = str(key)
        if key.startswith(KAFKA_PREFIX):
            key = key[len(KAFKA_PREFIX):]
        settings[key] = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if bootstrap_servers:
        settings["bootstrap.servers"] = bootstrap_servers
    return settings


def masked(settings: Mapping[str, str]) -> Dict[str, str]:
    """The settings with secrets replaced by ``****``, for logs."""
    return {key: ("****" if any(marker in key.lower() for marker in _SECRET_MARKERS) else value)
            for key, value in settings.items()}
