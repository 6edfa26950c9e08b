"""Text preparation for speech: Russian normalisation and sentence splitting."""

from ai_pipeline.text.normalize import normalize_for_speech
from ai_pipeline.text.sentences import split_sentences

__all__ = ["normalize_for_speech", "split_sentences"]
