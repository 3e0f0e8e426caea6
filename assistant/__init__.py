"""Bilingual (Persian/English) question answering over the Tehran city-diplomacy paper."""

__version__ = "0.1.0"
