"""Contracts: generated from the award, signed online by both parties, verifiable by anyone."""
