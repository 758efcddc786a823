"""The ingress bridge: Apigee-fronted HTTP calls that start, signal, update and
read Temporal workflows, with the caller's verified identity mapped to a
namespace, a task queue and the workflow types, signals and updates it may use
(docs/bridge.md)."""
