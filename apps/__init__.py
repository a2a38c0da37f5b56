"""Raspberry Pi demo apps (camera classification, SSD detection); see issue 8."""
