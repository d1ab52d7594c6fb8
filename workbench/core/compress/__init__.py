"""Making the student smaller: structured and vocabulary pruning, ONNX export and int8, parity."""
