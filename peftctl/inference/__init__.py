"""Talking to a model: one completion (``peftctl generate``) or a chat (``peftctl chat``)."""
