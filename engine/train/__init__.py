"""`engine train`: triplet training of the embedder (frozen-feature and finetune modes), its samplers, losses, validation and logs."""
