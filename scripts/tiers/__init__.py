"""Customer tiers, pure: the directory and its rules, GitHub tier labels, Papercups customers."""
