"""PagerDuty's desired state, pure: the layer and overrides each schedule needs."""
