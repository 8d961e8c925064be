"""Notify: Municipalities, consultants and reporters hear what they need: webhooks, feed, e-mail."""
