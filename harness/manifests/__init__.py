"""Manifests as data: workload.toml and impl.toml, validated once at load into frozen dataclasses."""
