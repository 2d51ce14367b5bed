"""Synthetic soundtrack, benchmark and episode generator used by scripts/gen_score.py."""
