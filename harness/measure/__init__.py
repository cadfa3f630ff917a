"""Measuring one process: spawning and reaping it, its rusage and memory, outcomes, metrics and statistics,
whether a case's processes fall into modes, and the harness's own threads kept off the CPUs it runs on
(affinity.py)."""
