"""Presentation: the Summary and model tables, number formatting, plots."""
