"""edgelite.quantize (see ../shared/DESIGN.md); filled in by later issues."""
