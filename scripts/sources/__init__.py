"""Where support conversations come from: readers over the adapters, and flag_stale's state."""
