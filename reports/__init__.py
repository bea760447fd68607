"""Scoring of result records against the control catalogue, and the HTML/JSON/JUnit report."""
