"""Declarative mappings that analysts edit: source document -> target document (see engine.py)."""

from .engine import Mapping, MappingError, MappingFinding, MappingResult, load_mapping
from .functions import FUNCTIONS

__all__ = ["FUNCTIONS", "Mapping", "MappingError", "MappingFinding", "MappingResult", "load_mapping"]
