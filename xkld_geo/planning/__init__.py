"""Quota planning: the allocation maths and the plans workflow (drafts, approval, annex)."""
