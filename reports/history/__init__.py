"""The nightly's history: per-case summaries across runs (Parquet), change points, and the alerts they raise."""
