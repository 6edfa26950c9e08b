"""Wav2Lip lip-sync over a prepared base loop: generator network, mel front end, engine."""
