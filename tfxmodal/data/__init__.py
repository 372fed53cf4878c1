"""Datasets and tf.data pipelines: embedded mini datasets and real-data loaders."""
