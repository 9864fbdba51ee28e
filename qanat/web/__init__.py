"""The web layer: REST API, inbox pages and webhooks."""
