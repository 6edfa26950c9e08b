"""The voice stage: enrolment of samples, per-voice preparation, light matching and cloning support."""
