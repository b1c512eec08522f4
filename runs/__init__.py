"""Runs apart from any UI: the runner, the run record, sweeps, prices and budgets, provenance and code generation.

Nothing here imports Gradio. Views (the endpoint tab, sweeps, history, MCP tools) read ``RunUpdate``s and
``RunRecord``s.
"""
