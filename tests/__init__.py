"""Tests for support-hero."""
