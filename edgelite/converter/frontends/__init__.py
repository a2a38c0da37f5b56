"""Frontends lower framework models into the edgelite IR (one subpackage per format)."""
