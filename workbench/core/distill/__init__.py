"""The TinyBERT method: layer mapping, losses, teacher targets, augmentation and the training loop."""
