"""The host: its metadata and environment fingerprint, the quiet-host gate, and its own OS reference costs."""
