"""The host: its metadata and environment fingerprint, what on it disturbs measurements (system.py: checked,
recorded, tuned), the quiet-host gate, its own OS reference costs, and how steady it stayed during a run
(drift.py)."""
