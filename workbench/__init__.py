"""TinyBERT Workbench: compress BERT-family text classifiers by layer-mapped distillation,
pruning and int8 quantization."""

__version__ = "0.1.0"
