"""The weekly hero handoff, pure: the message, reminders, user groups and the topic."""
