"""Email: IMAP mailboxes polled, qanat's own SMTP listener, replies sent over SMTP."""
