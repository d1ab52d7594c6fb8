"""The deploy bundle: the student as a folder that runs with onnxruntime, tokenizers and numpy alone."""
