"""Normalize: pure functions that read text, language, identity, place, kind and thread hints."""
