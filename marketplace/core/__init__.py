"""Shared building blocks: model base, errors, state machines, money, USCC, time."""
