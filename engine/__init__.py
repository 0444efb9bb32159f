"""Artwork similarity engine: data preparation, the Siamese embedder, training and evaluation."""

__version__ = "0.1.0"
