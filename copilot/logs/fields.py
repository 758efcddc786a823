"""Field names of each Apigee log shape, mapped onto canonical columns.

- Analytics export (Data Export / BigQuery): Apigee's analytics names
  (cloud.google.com/apigee/docs/api-platform/analytics/analytics-reference).
- MessageLogging (Cloud Logging ``jsonPayload`` keys and syslog templates):
  flow variables such as ``apiproxy.name`` and ``response.status.code``
  (cloud.google.com/apigee/docs/api-platform/reference/variables-reference;
  the Apigee X entry on Google SecOps' gcp-apigee-x parser page).

Several source names may feed one canonical column; the first present wins.
"""

from __future__ import annotations

# canonical column -> analytics export field names, in order of preference
ANALYTICS_FIELDS: dict[str, tuple[str, ...]] = {
    "ts": ("client_received_start_timestamp", "timestamp", "ax_created_time"),
    "organization": ("organization",),
    "environment": ("environment",),
    "proxy": ("apiproxy",),
    "basepath": ("proxy_basepath",),
    "pathsuffix": ("proxy_pathsuffix",),
    "api_product": ("api_product",),
    "app": ("developer_app",),
    "client_id": ("client_id",),
    "verb": ("request_verb",),
    "path": ("request_path", "request_uri"),
    "status": ("response_status_code",),
    "target_status": ("target_response_code",),
    "total_ms": ("total_response_time",),
    "target_ms": ("target_response_time",),
    "request_ms": ("request_processing_latency",),
    "client_ip": ("client_ip", "ax_resolved_client_ip", "x_forwarded_for_ip"),
    "useragent": ("useragent",),
    "fault_policy": ("ax_execution_fault_policy_name",),
    "fault_code": ("ax_edge_execution_fault_code",),
    "is_error": ("is_error",),
}

# The columns an analytics export must have to be recognised as one.
ANALYTICS_MARKERS = ("client_received_start_timestamp", "apiproxy", "response_status_code")

# canonical column -> MessageLogging flow variable names, in order of preference
FLOW_VARIABLES: dict[str, tuple[str, ...]] = {
    "ts": ("client.received.start.timestamp", "system.timestamp"),
    "organization": ("organization.name", "organization"),
    "environment": ("environment.name", "environment"),
    "proxy": ("apiproxy.name", "proxy"),
    "basepath": ("proxy.basepath",),
    "pathsuffix": ("proxy.pathsuffix",),
    "api_product": ("apiproduct.name",),
    "app": ("developer.app.name",),
    "client_id": ("client_id", "client.id"),
    "verb": ("request.verb", "verb"),
    "path": ("request.path", "request.uri"),
    "status": ("response.status.code", "response.code", "message.status.code"),
    "target_status": ("target.response.status.code",),
    "total_ms": ("total_response_time",),
    "target_ms": ("target_response_time",),
    "request_ms": ("request_processing_latency",),
    "client_ip": ("client.ip", "proxy.client.ip"),
    "useragent": ("request.header.user-agent", "request.header.User-Agent", "useragent"),
    "fault_policy": ("fault.policy",),
    "fault_code": ("fault.name", "error.state"),
    "is_error": ("is.error", "is_error"),
}

# Flow variables from which latencies are derived when no explicit time is logged.
TIMESTAMP_VARIABLES = (
    "client.received.start.timestamp",
    "client.sent.end.timestamp",
    "target.sent.start.timestamp",
    "target.received.end.timestamp",
)

# The default syslog template atc ships (a MessageLogging <Syslog><Message>).
# With <FormatMessage>true</FormatMessage> Apigee prefixes an RFC 5424 header.
# Teams write their own: pass yours with ``--syslog-template`` / ``template=``.
DEFAULT_SYSLOG_TEMPLATE = (
    "ts={client.received.start.timestamp} org={organization.name} env={environment.name} "
    'proxy={apiproxy.name} basepath={proxy.basepath} verb={request.verb} path="{request.path}" '
    "status={response.status.code} target_status={target.response.status.code} "
    "sent={client.sent.end.timestamp} tsent={target.sent.start.timestamp} "
    "trecv={target.received.end.timestamp} app={developer.app.name} client_id={client_id} "
    'product={apiproduct.name} ip={client.ip} fault="{fault.name}" '
    'ua="{request.header.user-agent}"'
)
