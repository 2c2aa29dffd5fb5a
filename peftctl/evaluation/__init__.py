"""Evaluation: prediction (generate or rank), output parsing, scoring and PSCP.

Light on purpose: modules that need torch import it themselves.
"""
