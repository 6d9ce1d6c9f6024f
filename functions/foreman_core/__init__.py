"""Foreman core."""
