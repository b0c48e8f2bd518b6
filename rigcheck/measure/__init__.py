"""Measuring real runs: a .gguf file through llama-cpp-python (filebench), any
OpenAI-compatible server (serverbench), and the local store of results (store)."""

from .store import db_path, list_runs, my_measurements  # noqa: F401
