"""The demo: every job against local fakes seeded from the example rotation.yaml (`make demo`)."""
