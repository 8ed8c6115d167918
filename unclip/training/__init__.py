"""`unclip train`: every stage of the cascade on your own data, from one CPU to many GPUs.

config (schema) -> trainer (accelerate loop) -> stages/ (per-stage data, loss, samples) -> checkpoint
(safetensors + JSON) -> export (model directory). See docs/TRAINING.md.
"""
