"""Tracking: local trackers behind one protocol, attention providers, the joint local-global switch."""
