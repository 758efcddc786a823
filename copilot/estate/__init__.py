"""The local estate ``atc up`` runs: Temporal, workers, gateway emulator, dashboard.

``supervisor`` starts and stops child processes (each in its own process
group, so stopping one takes what it started too); ``estate_file`` records
where everything listens in ``<data_dir>/estate.json`` for other commands and
the dashboard; ``plan`` decides what to start; ``status`` probes what answers.
"""
