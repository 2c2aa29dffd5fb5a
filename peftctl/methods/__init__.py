"""The method contract, the generic helpers methods build on, and the non-PEFT baselines.

Every PEFT method comes from a package under ``plugins/`` (see :mod:`peftctl.standard_packages`).
"""
