"""Slack's and GitHub's formats, pure: untrusted text made safe (mrkdwn, Block Kit, Markdown)
and Slack's timestamps."""
