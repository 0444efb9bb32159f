"""Running a trained model: datasets that decode in workers, batched embedding, the inference plan, the model cache and pair verification."""
