"""Realtime conversation over Socket.IO: audio/text in, reply text and MP4 segments out."""
