"""`make bench`: each pipeline stage's throughput beside the same machine's raw baselines (CONTRACT §7)."""
