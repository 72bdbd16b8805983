"""Text we do not control, made safe where it goes: Slack mrkdwn, Block Kit, GitHub Markdown."""
