"""Conversation brain: LLM engines that stream replies, prompts built from persona and memory."""

from ai_pipeline.llm.base import LLMEngine

__all__ = ["LLMEngine"]
