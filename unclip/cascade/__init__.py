"""The foundation every other layer builds on: an unCLIP cascade and how to run it.

- `container`: `Cascade`, the loaded networks of one model, and the component names.
- `settings`: sampler settings per stage and per model (`SamplingConfig`), and the keyword overrides
  a call may give (`parse_stage_settings`).
- `model_dir`: the model directory format (save, load, verify).
- `loading`: the one model loader (a directory, the embedded default, or a random fallback).
- `presets`: named cascade sizes with random weights (tests, benchmarks).
- `stages`: one sampling function per stage (prompt encoding, prior, decoder, upsampler).
- `runner`: `CascadeRunner`, a cascade on a device with what every operation shares.

Generation and editing (`unclip.pipeline`), training, conversion and the server import this package;
it imports only `unclip.models`, `unclip.diffusion`, `unclip.utils` and `unclip.errors`
(docs/ARCHITECTURE.md). Modules are imported by name: this package's import stays free of torch.
"""
