"""Starter files copied by ``bpcheck init``; this file itself is not copied."""
