"""paropt tests: make paropt_helpers importable (tests/tune is not a package)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
