"""Stale support conversations, pure: the clock, each source's threads, the digest, the writes."""
