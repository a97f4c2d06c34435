"""Idempotent background jobs, run by ``flask jobs run`` (or Celery beat in production)."""
