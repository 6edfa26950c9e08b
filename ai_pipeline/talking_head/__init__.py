"""Talking-head stage: a prepared face photo + speech audio -> video frames (FrameBatch)."""

from ai_pipeline.talking_head.base import Avatar, TalkingHeadEngine

__all__ = ["Avatar", "TalkingHeadEngine"]
