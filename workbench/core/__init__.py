"""The Qt-free engine: recipes, model and data sources, distillation, compression, run folders."""
