"""Benchmarks: organisation-scale scenarios run against the local fakes (`make bench`)."""
