"""Tarjama server: Arabic→English news translation and summarization over gRPC."""

__version__ = "0.1.0"
