"""Helpers for tests: factories that build real rows (factory_boy) and an SMTP sink."""
