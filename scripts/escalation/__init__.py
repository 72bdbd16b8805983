"""Escalations, pure: check the request, choose whom to page, the page and the message."""
