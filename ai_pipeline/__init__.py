"""Local talking-avatar pipeline: typed chunks, one folder per stage, one file per engine."""

__version__ = "0.1.0"
