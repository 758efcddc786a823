"""Throttling advice: SpikeArrest and Quota suggestions with evidence, replay and forecast.

``suggest_paths(paths)`` reads Apigee logs in one streaming pass (analysis +
compact request arrays) and returns a :class:`~copilot.throttling.report.Report`:
per proxy a SpikeArrest bounded by the backend's capacity knee, per app a
SpikeArrest and a Quota (from the cohort when an app has little history or is
abusive), each replayed through an Apigee-faithful simulator
(:mod:`copilot.throttling.replay`) under the rule that at most 0.1 % (``options.REJECT_SHARE``) of
healthy legitimate requests may be rejected; next week's forecast per proxy
and top app; the excluded windows; and the policy XML, as proxy bundles
(:mod:`copilot.throttling.policies_xml`). Current policies are read from a
bundle (:mod:`copilot.throttling.bundle`).

The entry points live in :mod:`copilot.throttling.run`; this package imports
nothing itself, so ``copilot.throttling.options`` (the choices the CLI and the
dashboard share) loads without numpy or pandas.
"""
