"""Telegram: a bot's updates by webhook or long polling, replies out."""
