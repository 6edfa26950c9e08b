"""Russian word stress and ё for TTS front ends, from ``silero-stress`` (model inside the wheel).

Silero Stress marks the stressed vowel of every word with a ``+`` before it and restores ``ё``
(«все» / «всё» by context). TTS models take stress in different forms; the usual written form,
and the one used here, is a combining acute accent (U+0301) after the stressed vowel: «приве́т».
A model whose vocabulary has no such character must not get it (it would become an unknown
token), but still profits from the restored ``ё``: :meth:`RussianAccents.apply` does either.

Loading takes a few seconds and ~60 MB (a quantised BERT for homographs plus the dictionary);
a sentence then takes milliseconds. The package sets torch's global thread count to 1 when it is
imported and turns autograd off globally when it loads; :meth:`RussianAccents.load` puts both
back (a training run in the same process needs autograd).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ai_pipeline.errors import EngineUnavailable

ACUTE = "\u0301"
INSTALL = "pip install silero-stress==1.5"
_PLUS = "\ue000"  # a private-use character stands in for "+" while the model runs
_MARKED = re.compile(r"\+([аеиоуыэюяАЕИОУЫЭЮЯ])")  # ё is always stressed: it needs no mark


class RussianAccents:
    """Puts stress marks (U+0301 after the vowel) and ``ё`` into Russian text (thread-safe)."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load the silero-stress model (blocking, a few seconds)."""
        with self._lock:
            if self._model is not None:
                return
            import torch

            threads, grad = torch.get_num_threads(), torch.is_grad_enabled()
            try:
                from silero_stress import load_accentor

                self._model = load_accentor("ru")
            except ImportError as exc:
                raise EngineUnavailable("Не установлен модуль ударений silero-stress.",
                                        f"silero-stress is missing ({exc}); {INSTALL}") from None
            finally:
                torch.set_num_threads(threads)
                torch.set_grad_enabled(grad)

    def apply(self, text: str, *, marks: bool = True, homographs_only: bool = False) -> str:
        """``text`` with ``ё`` restored and, if ``marks``, an acute accent after each stressed vowel
        (``homographs_only``: only on words whose stress depends on the context, «з+амок»/«зам+ок»).

        One-syllable words get no mark (their stress is not in doubt, and fewer marks keep the
        text closer to what a model saw in training).
        """
        if not re.search(r"[а-яё]", text, re.IGNORECASE):
            return text
        self.load()
        import torch

        text = text.replace("+", _PLUS)  # the model's own marker; a literal plus must survive
        with self._lock, torch.inference_mode():
            marked = self._model(text, put_stress=marks and not homographs_only, put_stress_homo=marks, put_yo=True, put_yo_homo=True,
                                 stress_single_vowel=False)
        if marks:
            marked = _MARKED.sub(lambda m: m.group(1) + ACUTE, marked)
        return marked.replace("+", "").replace(_PLUS, "+")


def strip_accents(text: str) -> str:
    """Remove stress marks (for display, comparisons and models that do not take them)."""
    return text.replace(ACUTE, "")
