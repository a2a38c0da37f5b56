"""Errors raised while reading, verifying or writing a model."""


class SchemaError(ValueError):
    """A .tflite file or IR model is malformed; the message names the part at fault."""
