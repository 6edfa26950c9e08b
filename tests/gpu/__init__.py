"""The heavy engines on CUDA, checked against the same engine on the CPU (pytest marker ``gpu``).

Each module builds an engine with ``device`` set to :data:`tests.gpu.compare.DEVICE` from the same
small checkpoints the CPU tests use, and the same engine on the CPU as the reference (in fp32 where
the engine has a precision setting). Without CUDA these tests are skipped (tests/conftest.py);
``AVATAR_TEST_GPU_DEVICE=cpu`` runs them on the CPU instead.
"""
