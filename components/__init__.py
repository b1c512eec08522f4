"""Gradio building blocks: endpoint forms (schema -> widgets), results, tabs, settings."""
