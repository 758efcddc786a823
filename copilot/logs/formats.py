"""The names of the log shapes atc reads and writes (no heavy imports: the CLI lists them)."""

from __future__ import annotations

ANALYTICS_CSV = "analytics-csv"
ANALYTICS_JSONL = "analytics-jsonl"
CLOUD_LOGGING = "cloud-logging"
CLOUD_LOGGING_ARRAY = "cloud-logging-array"  # written only; read as cloud-logging
CLOUD_LOGGING_YAML = "cloud-logging-yaml"  # read only (gcloud's YAML)
SYSLOG = "syslog"
PARQUET = "parquet"
AVRO = "avro"

# What ``--format`` may force on reading (docs/logs.md).
FORMATS = (ANALYTICS_CSV, ANALYTICS_JSONL, CLOUD_LOGGING, CLOUD_LOGGING_YAML, SYSLOG, PARQUET, AVRO)
# What ``atc sample --format`` and copilot.logs.writers write.
WRITE_FORMATS = (
    ANALYTICS_CSV,
    ANALYTICS_JSONL,
    CLOUD_LOGGING,
    CLOUD_LOGGING_ARRAY,
    SYSLOG,
    PARQUET,
    AVRO,
)
