"""The host: its metadata and environment fingerprint, what on it disturbs measurements (system.py: checked
and recorded; tuning.py: tuned and reset), the quiet-host gate, its own OS reference costs, and how steady
it stayed during a run (drift.py)."""
