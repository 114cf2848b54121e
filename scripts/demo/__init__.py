"""The demo that scripts/develop starts: the simulator, Home Assistant and their set-up.

Run from the repository's root with the project's venv: `.venv/bin/python -m scripts.demo`.
"""
