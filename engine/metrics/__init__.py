"""Evaluation metrics on plain numpy arrays (no torch): verification pairs, triplet ordering,
attribution (likely artists) and retrieval. Every function takes `(embeddings, labels)` style arrays.
"""
