"""Throttling advice: SpikeArrest and Quota suggestions with evidence, replay and forecast.

``suggest_paths(paths)`` reads Apigee logs in one streaming pass (analysis +
compact request arrays) and returns a :class:`~copilot.throttling.report.Report`:
per proxy a SpikeArrest bounded by the backend's capacity knee, per app a
SpikeArrest and a Quota (from the cohort when an app has little history or is
abusive), each replayed through an Apigee-faithful simulator
(:mod:`copilot.throttling.replay`) under the rule that at most 0.1 % of
healthy legitimate requests may be rejected; next week's forecast per proxy
and top app; the excluded windows; and the policy XML, as proxy bundles
(:mod:`copilot.throttling.policies_xml`). Current policies are read from a
bundle (:mod:`copilot.throttling.bundle`).
"""

from copilot.throttling.run import DEFAULT_HEADROOM, SuggestRun, build_report, suggest_paths

__all__ = ["DEFAULT_HEADROOM", "SuggestRun", "build_report", "suggest_paths"]
