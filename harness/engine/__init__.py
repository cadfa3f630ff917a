"""Executing a plan: toolchains, builds, verification, measurement and storage on this host; shards and merges."""
