"""TF SavedModel directories -> edgelite IR, reading saved_model.pb and the variables
bundle without TensorFlow."""

from .frontend import lower

__all__ = ["lower"]
