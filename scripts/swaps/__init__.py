"""Swaps asked for, pure: the shift to give away, who could take it and what they give back."""
