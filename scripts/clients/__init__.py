"""Thin adapters over each service's official client; no decisions live here."""
