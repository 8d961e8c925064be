"""Benchmarks (`make bench`): each module measures a target against a baseline in the same run."""
