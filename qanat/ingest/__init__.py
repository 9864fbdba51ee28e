"""Connectors: every channel a citizen uses, turned into :class:`qanat.model.Inbound`."""
