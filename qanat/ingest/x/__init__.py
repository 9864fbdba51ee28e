"""X (Twitter): mentions and DMs polled with tweepy, replies out."""
