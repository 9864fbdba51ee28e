"""Dedupe: find the open ticket a new complaint repeats, with the evidence."""
