"""Logistics indicators: the data layer (plain Python, never imports streamlit)."""

__version__ = "0.1.0"
