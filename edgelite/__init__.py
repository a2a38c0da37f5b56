"""edgelite: a TensorFlow-Lite-compatible converter, quantizer and interpreter in Python."""

__version__ = "0.1.0"
