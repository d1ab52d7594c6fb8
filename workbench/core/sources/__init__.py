"""What goes in: models and their families, the student, the data set and its batches."""
