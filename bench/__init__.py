"""Benchmarks (`make bench`): each workload against its baseline, interleaved, in one process tree."""
