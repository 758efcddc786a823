"""AI workflow drafts: WorkflowSpec, planners, the trusted renderer, validation, dry runs, review.

The flow (docs/architecture.md, 'Flow of data' and the decisions after it):

1. A planner turns a request in words into a :class:`~copilot.drafting.spec.WorkflowSpec`
   (JSON, never code): :class:`~copilot.drafting.openai_planner.OpenAIPlanner` for any
   OpenAI-compatible endpoint, or :class:`~copilot.drafting.offline.OfflinePlanner`
   (deterministic, no LLM). :mod:`copilot.drafting.mining` proposes requests from logs.
2. The rules (:mod:`copilot.rules`) check the spec: schema, catalog operations, scopes
   (Apigee matching), timeouts, flow, references, secrets.
3. The trusted renderer (:mod:`copilot.drafting.render`) writes one temporalio module;
   code rules check it (AST allow-list, scope, compile, sandbox load in a child process).
4. The dry run (:mod:`copilot.drafting.dryrun`) runs it on the time-skipping test server
   against the gateway emulator, in a child process.
5. :class:`copilot.drafting.record.AttemptLoop` repairs with the findings (LLM only): the
   one loop, run in-process by :func:`copilot.drafting.draft.run_attempts` and in Temporal
   by ``workflows.authoring``, both from the :class:`~copilot.drafting.record.DraftInput`
   that :func:`copilot.drafting.job.draft_input` resolves; :class:`copilot.drafting.store.DraftStore`
   keeps versions, status and the audit trail.

:mod:`copilot.drafting.service` is the one entry point the CLI and the dashboard share;
:mod:`copilot.drafting.planners` chooses the planner (the protocol is in ``planner``).
"""
