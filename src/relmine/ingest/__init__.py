"""Readers of each input kind, dialect sniffing and identity normalisation."""
