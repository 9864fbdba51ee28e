"""SMS: Twilio and generic HTTP gateways in by webhook, replies out."""
