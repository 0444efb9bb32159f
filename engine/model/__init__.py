"""The Siamese embedder: trunks (backbones, weights, pooling), the network, preprocessing/augmentations and the model.pt checkpoint."""
