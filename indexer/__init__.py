"""Scanning, embedding, the FAISS index and search."""
