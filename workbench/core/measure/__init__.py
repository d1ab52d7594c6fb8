"""Running models and measuring them: evaluation, the model runner, the speed benchmark."""
