"""The three customer tiers: one definition of their keys, their order and their names."""

FOCUS, SUBSCRIBER, COMMUNITY = "focus", "subscriber", "community"
TIERS = (FOCUS, SUBSCRIBER, COMMUNITY)  # highest first: the hero answers in this order
TIER_NAMES = {FOCUS: "Focus", SUBSCRIBER: "Subscriber", COMMUNITY: "Community"}
