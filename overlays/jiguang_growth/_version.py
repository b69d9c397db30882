"""The package's version, defined here only: ``jiguang_growth.__version__``, the User-Agent and the
built wheel's metadata (hatchling reads this file, see pyproject.toml) all take it from here."""

__version__ = "0.1.0"
