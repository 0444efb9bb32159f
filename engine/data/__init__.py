"""Paintings as data: safe image decoding, artist labels, collection sources, the folder walk, the prepared manifest and file hashing."""
