"""Local fakes of PagerDuty, Slack, GitHub and Papercups, validated against ../shared/specs."""
