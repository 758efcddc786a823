"""Fan-out analysis on Temporal: one activity per partition, any number of workers."""
