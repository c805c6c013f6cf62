"""Runs the filare command line (installed by bench/compare into build/tools)."""
from filare.cli import cli

cli()
