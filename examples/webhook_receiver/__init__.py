"""An example receiver of the platform's webhooks (Standard Webhooks)."""
