"""Chaekieum (책이음): the integrated library-card network hub."""

__version__ = "0.1.0"
