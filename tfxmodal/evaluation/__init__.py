"""Evaluation of trained translators: metrics, plots and the HTML report."""
