"""Measuring one process: spawning and reaping it, its rusage and memory, outcomes, metrics and statistics."""
