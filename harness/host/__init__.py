"""The host: its metadata and environment fingerprint, what on it disturbs measurements (system.py: checked,
recorded, tuned), the quiet-host gate, and its own OS reference costs."""
