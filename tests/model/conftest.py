"""Model tests: make model_helpers importable (tests/model is not a package)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
