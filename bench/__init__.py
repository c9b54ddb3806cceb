"""`make bench`: throughput and latency of the API on gunicorn, written to bench/results/."""
