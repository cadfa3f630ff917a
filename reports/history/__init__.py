"""The nightly's history: per-case summaries across runs (Parquet), change points, the A/B confirmation's
statistics, environment changes and each series' sensitivity, and the alerts they raise."""
