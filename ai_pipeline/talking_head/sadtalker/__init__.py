"""SadTalker's face renderer (face-vid2vid style), used offline to make an avatar's base loop."""
